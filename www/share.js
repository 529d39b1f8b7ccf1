// Getting results out of the page: file downloads, SVG/PNG/CSV exports and report links.
// Nothing here talks to a server: links carry the report in the URL fragment.

/** Longest `#report=…` fragment a share link may have. */
export const MAX_FRAGMENT = 32_000;
export const FRAGMENT_KEY = 'report=';

/** Saves a Blob as a file through a temporary Blob URL. */
export function downloadBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Standalone SVG document text of a chart element. */
export function svgText(svg) {
  const text = new XMLSerializer().serializeToString(svg);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${text}\n`;
}

/** Rasterises a chart: the SVG as a Blob URL image drawn on a canvas (white background). */
export async function svgToPngBlob(svg, scale = 2) {
  const width = Number(svg.getAttribute('width'));
  const height = Number(svg.getAttribute('height'));
  const url = URL.createObjectURL(new Blob([svgText(svg)], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = Math.ceil(width * scale);
    canvas.height = Math.ceil(height * scale);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return await new Promise((resolve, reject) =>
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the canvas could not be encoded as PNG'))), 'image/png'),
    );
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** One CSV field: quoted when needed; a leading = + - @ is defused for spreadsheets. */
function csvField(value) {
  let s = String(value);
  if (/^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * The confusion matrix as CSV in display order: a header of predicted labels, then one row
 * per true label. values is the (normalised) matrix indexed by class.
 */
export function matrixCsv(labels, values, order = labels.map((_, i) => i)) {
  const lines = [['true \\ predicted', ...order.map((j) => labels[j])].map(csvField).join(',')];
  for (const i of order) {
    lines.push([labels[i], ...order.map((j) => values[i][j])].map(csvField).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

function toBase64Url(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64Url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error('the link is damaged (characters outside base64url)');
  const b64 = text.replaceAll('-', '+').replaceAll('_', '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function pipeBytes(bytes, stream) {
  const out = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

/** base64url(deflate-raw(text)). */
export async function packText(text) {
  return toBase64Url(await pipeBytes(new TextEncoder().encode(text), new CompressionStream('deflate-raw')));
}

/** Inverse of packText; throws with a readable message on a damaged link. */
export async function unpackText(packed) {
  const bytes = fromBase64Url(packed);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(await pipeBytes(bytes, new DecompressionStream('deflate-raw')));
  } catch {
    throw new Error('the link is damaged or incomplete (its report does not decompress)');
  }
}

/** Significant digits of curve points in a link that does not fit with exact ones. */
export const LINK_CURVE_DIGITS = 6;

/** What a link can leave out to fit, in the order it is left out, with how the page says it. */
export const LINK_DROPS = {
  curves: 'the PR, ROC and calibration curve points',
  predictions: 'the per-sample predictions',
};

const EMPTY_PREDICTIONS = { test_index: [], y_true: [], y_pred: [], confidence: [] };

/** A copy of a curves object with every non-integer number rounded to `digits` significant digits. */
function roundCurves(value, digits) {
  if (Array.isArray(value)) return value.map((v) => roundCurves(v, digits));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, roundCurves(v, digits)]));
  }
  return typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value) ? Number(value.toPrecision(digits)) : value;
}

/**
 * The share fragment (without '#') for a report object, degrading in steps until it fits
 * MAX_FRAGMENT: the whole report; its curve points rounded to LINK_CURVE_DIGITS significant
 * digits (the charts are the same at any screen size); without curves; without curves and
 * per-sample predictions. What was left out is named in the fragment (`&dropped=curves,…`)
 * so the page that opens it can say so. Resolves to { fragment, dropped: [keys of
 * LINK_DROPS], rounded } with fragment null when even the smallest step is too long.
 */
export async function reportFragment(report) {
  const metrics = report.metrics ?? {};
  const hasCurves = metrics.curves !== undefined && metrics.curves !== null;
  const { curves, ...noCurves } = metrics;
  const steps = [
    { report, dropped: [], rounded: false },
    ...(hasCurves ? [{ report: { ...report, metrics: { ...metrics, curves: roundCurves(curves, LINK_CURVE_DIGITS) } }, dropped: [], rounded: true }] : []),
    ...(hasCurves ? [{ report: { ...report, metrics: noCurves }, dropped: ['curves'], rounded: false }] : []),
    { report: { ...report, metrics: noCurves, predictions: EMPTY_PREDICTIONS }, dropped: [...(hasCurves ? ['curves'] : []), 'predictions'], rounded: false },
  ];
  let dropped = [];
  for (const step of steps) {
    const fragment = FRAGMENT_KEY + (await packText(JSON.stringify(step.report))) + (step.dropped.length ? `&dropped=${step.dropped.join(',')}` : '');
    dropped = step.dropped;
    if (fragment.length <= MAX_FRAGMENT) return { fragment, dropped, rounded: step.rounded };
  }
  return { fragment: null, dropped, rounded: false };
}

/** The sentence a page shows about what a link leaves out (dropped: keys of LINK_DROPS). */
export function droppedText(dropped) {
  const parts = dropped.filter((k) => Object.hasOwn(LINK_DROPS, k)).map((k) => LINK_DROPS[k]);
  if (parts.length === 0) return '';
  const what = parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
  const lost = [
    dropped.includes('curves') ? 'no PR, ROC or calibration charts' : null,
    dropped.includes('predictions') ? 'no sample gallery and no embedding map' : null,
  ].filter(Boolean).join(' and ');
  return `To fit the link, ${what} were left out: it shows ${lost}. The downloaded report file has everything.`;
}

function splitHash(hash) {
  const h = hash.startsWith('#') ? hash.slice(1) : hash;
  if (!h.startsWith(FRAGMENT_KEY)) return null;
  const [packed, ...rest] = h.slice(FRAGMENT_KEY.length).split('&');
  const params = new URLSearchParams(rest.join('&'));
  const dropped = (params.get('dropped') ?? '').split(',').filter((k) => Object.hasOwn(LINK_DROPS, k));
  return { packed, dropped };
}

/** The report JSON text in a location hash ('#report=…'), or null when there is none. */
export async function reportFromHash(hash) {
  const parts = splitHash(hash);
  return parts === null ? null : unpackText(parts.packed);
}

/** What a share link in this hash says it left out (keys of LINK_DROPS; [] when nothing or no link). */
export function droppedFromHash(hash) {
  return splitHash(hash)?.dropped ?? [];
}
