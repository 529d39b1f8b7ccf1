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

/**
 * The share fragment (without '#') for a report object: the whole report, or without the
 * per-sample predictions when that would exceed MAX_FRAGMENT. Resolves to
 * { fragment, dropped: boolean } or { fragment: null, dropped: true } when even that is too long.
 */
export async function reportFragment(report) {
  // Curve points (PR/ROC/calibration) are per-threshold detail the results view does not
  // draw; they stay in the downloaded report and never go into a link.
  const { curves, ...metrics } = report.metrics ?? {};
  report = { ...report, metrics };
  const full = FRAGMENT_KEY + (await packText(JSON.stringify(report)));
  if (full.length <= MAX_FRAGMENT) return { fragment: full, dropped: false };
  const slim = { ...report, predictions: { test_index: [], y_true: [], y_pred: [], confidence: [] } };
  const small = FRAGMENT_KEY + (await packText(JSON.stringify(slim)));
  return small.length <= MAX_FRAGMENT ? { fragment: small, dropped: true } : { fragment: null, dropped: true };
}

/** The report JSON text in a location hash ('#report=…'), or null when there is none. */
export async function reportFromHash(hash) {
  const h = hash.startsWith('#') ? hash.slice(1) : hash;
  if (!h.startsWith(FRAGMENT_KEY)) return null;
  return unpackText(h.slice(FRAGMENT_KEY.length));
}
