// Charts as pure functions: data in, detached SVG element out (no page state, no styles needed).

const SVG_NS = 'http://www.w3.org/2000/svg';
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';

function svgEl(doc, tag, attrs = {}, text) {
  const el = doc.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  if (text !== undefined) el.textContent = text;
  return el;
}

const r2 = (x) => Math.round(x * 100) / 100;

/** Viridis (matplotlib's default, perceptually uniform, colour-blind safe) at 9 stops. */
const VIRIDIS = [
  [68, 1, 84], [71, 44, 122], [59, 82, 139], [44, 114, 142], [33, 145, 140],
  [40, 174, 128], [94, 201, 98], [173, 220, 48], [253, 231, 37],
];

/** Viridis colour for t in [0, 1] (clamped; non-finite gives 0) as [r, g, b]. */
export function viridisRgb(t) {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const f = u - i;
  return VIRIDIS[i].map((a, k) => Math.round(a + (VIRIDIS[i + 1][k] - a) * f));
}

/** Viridis colour for t in [0, 1] as 'rgb(r, g, b)'. */
export function heatColor(t) {
  const [r, g, b] = viridisRgb(t);
  return `rgb(${r}, ${g}, ${b})`;
}

/** Text colour readable on a heatmap cell of colour heatColor(t). */
export function textColorOn(t) {
  const [r, g, b] = viridisRgb(t);
  const luminance = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  return luminance < 0.45 ? '#ffffff' : '#1a1a1a';
}

/**
 * The confusion matrix normalised like scikit-learn's `confusion_matrix(normalize=…)`:
 * 'none' counts, 'true' rows sum to 1, 'pred' columns sum to 1, 'all' all cells sum to 1.
 * A zero row/column/total gives 0 (scikit-learn gives nan and a warning).
 */
export function normalizeMatrix(matrix, mode = 'none') {
  const n = matrix.length;
  const rowSums = matrix.map((row) => row.reduce((a, b) => a + b, 0));
  const colSums = Array.from({ length: n }, (_, j) => matrix.reduce((a, row) => a + row[j], 0));
  const total = rowSums.reduce((a, b) => a + b, 0);
  const div = (v, d) => (d > 0 ? v / d : 0);
  return matrix.map((row, i) =>
    row.map((v, j) => {
      if (mode === 'true') return div(v, rowSums[i]);
      if (mode === 'pred') return div(v, colSums[j]);
      if (mode === 'all') return div(v, total);
      return v;
    }),
  );
}

/**
 * Display order of the classes: 'class' keeps label order; 'error' puts the classes with the
 * largest share of misclassified true samples (1 − recall) first, ties in label order.
 */
export function classOrder(matrix, sort = 'class') {
  const idx = matrix.map((_, i) => i);
  if (sort !== 'error') return idx;
  const errorRate = matrix.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total > 0 ? (total - row[i]) / total : 0;
  });
  return idx.sort((a, b) => errorRate[b] - errorRate[a] || a - b);
}

function truncate(label, max) {
  return label.length <= max ? label : `${label.slice(0, max - 1)}…`;
}

const pct = (x) => `${(x * 100).toFixed(1)}%`;

const MODE_TEXT = {
  none: 'counts',
  true: 'normalised over true labels (rows sum to 1)',
  pred: 'normalised over predicted labels (columns sum to 1)',
  all: 'normalised over all test samples',
};

/**
 * Confusion-matrix heatmap. Rows are true labels, columns predicted labels. Each cell is a
 * focusable <g class="cell"> with data-row, data-col (class indices, whatever the display
 * order), data-count, data-value (the shown value), data-pos ("displayRow,displayCol") and a
 * <title> tooltip. One cell has tabindex 0, the others −1 (a roving tab stop).
 * normalize: 'none' | 'true' | 'pred' | 'all'; sort: 'class' | 'error'.
 */
export function confusionMatrixSvg(labels, matrix, { normalize = 'none', sort = 'class', doc = globalThis.document } = {}) {
  const n = labels.length;
  const mode = MODE_TEXT[normalize] ? normalize : 'none';
  const order = classOrder(matrix, sort);
  const values = normalizeMatrix(matrix, mode);
  const rowSums = matrix.map((row) => row.reduce((a, b) => a + b, 0));
  const colSums = labels.map((_, j) => matrix.reduce((a, row) => a + row[j], 0));
  const maxValue = Math.max(0, ...values.flat());

  const shown = labels.map((l) => truncate(String(l), 12));
  const longest = Math.max(1, ...shown.map((l) => l.length));
  const cell = n <= 4 ? 64 : n <= 12 ? 44 : n <= 30 ? 28 : 18;
  const fontSize = n <= 4 ? 15 : n <= 12 ? 13 : n <= 30 ? 10 : 8;
  const labelSpace = Math.ceil(longest * fontSize * 0.62) + 10;
  const titleSpace = 22;
  const left = titleSpace + labelSpace;
  const top = titleSpace + Math.ceil(labelSpace * 0.72);
  const size = n * cell;
  const width = left + size + Math.ceil(labelSpace * 0.72) + 4;
  const height = top + size + 8;

  const svg = svgEl(doc, 'svg', {
    xmlns: SVG_NS,
    class: 'confusion-matrix',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'group',
    'aria-label': `Confusion matrix, ${n} classes, ${MODE_TEXT[mode]}; rows are true labels, columns predicted labels`,
    'font-size': fontSize,
    'font-family': FONT,
    'data-normalize': mode,
    'data-sort': sort === 'error' ? 'error' : 'class',
  });

  svg.append(
    svgEl(doc, 'text', { class: 'axis-title', x: r2(left + size / 2), y: 14, 'text-anchor': 'middle', 'font-weight': 600 }, 'Predicted label'),
    svgEl(
      doc,
      'text',
      { class: 'axis-title', x: 0, y: 0, transform: `translate(14 ${r2(top + size / 2)}) rotate(-90)`, 'text-anchor': 'middle', 'font-weight': 600 },
      'True label',
    ),
  );

  const colLabels = svgEl(doc, 'g', { class: 'col-labels' });
  const rowLabels = svgEl(doc, 'g', { class: 'row-labels' });
  order.forEach((k, d) => {
    const c = left + d * cell + cell / 2;
    const col = svgEl(
      doc,
      'text',
      { class: 'axis-label', transform: `translate(${r2(c)} ${top - 6}) rotate(-45)`, 'text-anchor': 'start' },
      shown[k],
    );
    const row = svgEl(
      doc,
      'text',
      { class: 'axis-label', x: left - 6, y: r2(top + d * cell + cell / 2), 'text-anchor': 'end', 'dominant-baseline': 'central' },
      shown[k],
    );
    col.append(svgEl(doc, 'title', {}, String(labels[k])));
    row.append(svgEl(doc, 'title', {}, String(labels[k])));
    colLabels.append(col);
    rowLabels.append(row);
  });
  svg.append(colLabels, rowLabels);

  const cells = svgEl(doc, 'g', { class: 'cells' });
  order.forEach((i, di) => {
    order.forEach((j, dj) => {
      const count = matrix[i][j];
      const value = values[i][j];
      const t = maxValue > 0 ? value / maxValue : 0;
      const tip =
        `true ${labels[i]}, predicted ${labels[j]}: ${count} test sample${count === 1 ? '' : 's'}\n` +
        `${pct(rowSums[i] > 0 ? count / rowSums[i] : 0)} of true ${labels[i]} (row)\n` +
        `${pct(colSums[j] > 0 ? count / colSums[j] : 0)} of predicted ${labels[j]} (column)`;
      const g = svgEl(doc, 'g', {
        class: i === j ? 'cell diagonal' : 'cell',
        'data-row': i,
        'data-col': j,
        'data-count': count,
        'data-value': value,
        'data-pos': `${di},${dj}`,
        tabindex: di === 0 && dj === 0 ? 0 : -1,
        role: 'button',
        'aria-label': tip.replaceAll('\n', '; '),
      });
      g.append(
        svgEl(doc, 'rect', {
          x: left + dj * cell,
          y: top + di * cell,
          width: cell,
          height: cell,
          fill: heatColor(t),
        }),
      );
      if (n <= 30) {
        const text = mode === 'none' ? String(count) : value === 0 ? '0' : value.toFixed(2);
        g.append(
          svgEl(
            doc,
            'text',
            {
              x: left + dj * cell + cell / 2,
              y: top + di * cell + cell / 2,
              'text-anchor': 'middle',
              'dominant-baseline': 'central',
              fill: textColorOn(t),
              'font-size': mode !== 'none' && n > 12 ? fontSize - 1 : fontSize,
            },
            text,
          ),
        );
      }
      g.append(svgEl(doc, 'title', {}, tip));
      cells.append(g);
    });
  });
  svg.append(cells);
  svg.append(svgEl(doc, 'rect', { class: 'frame', x: left, y: top, width: size, height: size, fill: 'none', stroke: '#8a939e' }));
  return svg;
}

/** Okabe–Ito colours (distinguishable with every common colour-vision deficiency). */
export const BAR_SERIES = [
  ['precision', 'Precision', '#0072B2'],
  ['recall', 'Recall', '#E69F00'],
  ['f1', 'F1', '#009E73'],
];

/**
 * Per-class precision / recall / F1 as horizontal grouped bars on a 0–1 axis, with each
 * class's support at the right and a ⚠ when it is below minSupport. Bars carry
 * data-class, data-metric and data-value.
 */
export function perClassBarsSvg(labels, perClass, { minSupport = 5, doc = globalThis.document } = {}) {
  const n = labels.length;
  const shown = labels.map((l) => truncate(String(l), 16));
  const fontSize = n <= 30 ? 12 : 10;
  const bar = n <= 12 ? 8 : n <= 30 ? 6 : 4;
  const gap = n <= 30 ? 10 : 6;
  const group = bar * BAR_SERIES.length + gap;
  const labelSpace = Math.ceil(Math.max(1, ...shown.map((l) => l.length)) * fontSize * 0.6) + 12;
  const plot = 360;
  const supportSpace = 78;
  const top = 44;
  const left = labelSpace;
  const width = left + plot + supportSpace;
  const height = top + n * group + 8;

  const svg = svgEl(doc, 'svg', {
    xmlns: SVG_NS,
    class: 'per-class-bars',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `Precision, recall and F1 for each of ${n} classes, with test support`,
    'font-size': fontSize,
    'font-family': FONT,
  });

  const legend = svgEl(doc, 'g', { class: 'legend' });
  BAR_SERIES.forEach(([, name, color], s) => {
    const x = left + s * 96;
    legend.append(
      svgEl(doc, 'rect', { x, y: 4, width: 12, height: 12, fill: color }),
      svgEl(doc, 'text', { class: 'axis-label', x: x + 17, y: 10, 'dominant-baseline': 'central' }, name),
    );
  });
  legend.append(
    svgEl(doc, 'text', { class: 'axis-label', x: left + plot + 8, y: 10, 'dominant-baseline': 'central', 'font-weight': 600 }, 'Support'),
  );
  svg.append(legend);

  const axis = svgEl(doc, 'g', { class: 'axis' });
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const x = r2(left + tick * plot);
    axis.append(
      svgEl(doc, 'line', { class: 'grid', x1: x, x2: x, y1: top - 4, y2: height - 8, stroke: '#8a939e', 'stroke-opacity': 0.35 }),
      svgEl(doc, 'text', { class: 'axis-label', x, y: top - 10, 'text-anchor': 'middle', 'font-size': fontSize - 2 }, String(tick)),
    );
  }
  svg.append(axis);

  const rows = svgEl(doc, 'g', { class: 'bars' });
  labels.forEach((label, i) => {
    const m = perClass?.[label] ?? {};
    const y0 = top + i * group + gap / 2;
    const g = svgEl(doc, 'g', { class: 'class-row', 'data-class': label });
    g.append(
      svgEl(
        doc,
        'text',
        { class: 'axis-label', x: left - 6, y: r2(y0 + (bar * BAR_SERIES.length) / 2), 'text-anchor': 'end', 'dominant-baseline': 'central' },
        shown[i],
      ),
    );
    BAR_SERIES.forEach(([key, name, color], s) => {
      const v = Number.isFinite(m[key]) ? m[key] : 0;
      const rect = svgEl(doc, 'rect', {
        x: left,
        y: y0 + s * bar,
        width: r2(Math.max(0, Math.min(1, v)) * plot),
        height: bar - 1,
        fill: color,
        'data-class': label,
        'data-metric': key,
        'data-value': v,
      });
      rect.append(svgEl(doc, 'title', {}, `${label}: ${name.toLowerCase()} ${v.toFixed(3)}`));
      g.append(rect);
    });
    const support = m.support;
    const low = Number.isFinite(support) && support < minSupport;
    const st = svgEl(
      doc,
      'text',
      {
        class: low ? 'support low-support' : 'support',
        x: left + plot + 8,
        y: r2(y0 + (bar * BAR_SERIES.length) / 2),
        'dominant-baseline': 'central',
        'data-support': support,
        fill: low ? '#D55E00' : undefined,
        'font-weight': low ? 600 : undefined,
      },
      low ? `${support} ⚠` : String(support ?? '—'),
    );
    st.append(
      svgEl(
        doc,
        'title',
        {},
        low
          ? `${label}: only ${support} test sample${support === 1 ? '' : 's'} (fewer than ${minSupport}); its scores are unreliable`
          : `${label}: ${support} test samples`,
      ),
    );
    g.append(st);
    rows.append(g);
  });
  svg.append(rows);
  return svg;
}

// ---------------------------------------------------------------------------------------
// Line charts, the embedding scatter and the comparison matrix.

/** Okabe–Ito qualitative palette (Wong 2011), safe for every common colour-vision deficiency. */
export const OKABE_ITO = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

/** Colour of series i of n: Okabe–Ito for up to 8 series, evenly spaced viridis beyond. */
export function seriesColor(i, n) {
  if (n <= OKABE_ITO.length) return OKABE_ITO[i % OKABE_ITO.length];
  return heatColor(n > 1 ? i / (n - 1) : 0);
}

const GRID = '#8a939e';
const fin = (x) => typeof x === 'number' && Number.isFinite(x);

/** Area under a polyline by the trapezoidal rule (scikit-learn's `auc`), x sorted either way. */
export function trapezoidArea(xs, ys) {
  let area = 0;
  for (let i = 1; i < xs.length; i++) area += ((xs[i] - xs[i - 1]) * (ys[i] + ys[i - 1])) / 2;
  return Math.abs(area);
}

/** Tick values spanning [lo, hi] at a 1/2/5 step (about `count` ticks). */
export function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.round(v / step) * step);
  return ticks;
}

function tickText(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(6)));
}

/**
 * An empty plot: axes, ticks, grid, titles. Returns { svg, plot (a <g>), x(v), y(v), left, top, pw, ph }.
 * xLog draws the x axis in log2 (few-shot counts).
 */
function frame(doc, { cls, label, title, xLabel, yLabel, xDomain, yDomain, xLog = false, width = 460, height = 340, legendRows = 0, xTicks, yTicks }) {
  const fontSize = 12;
  const left = 58;
  const top = title ? 30 : 12;
  const legendH = legendRows > 0 ? 10 + legendRows * 17 : 0;
  const bottom = 44 + legendH;
  const right = 14;
  const pw = width - left - right;
  const ph = height - top - bottom;
  const [x0, x1] = xDomain;
  const [y0, y1] = yDomain;
  const tx = (v) => (xLog ? Math.log2(v) : v);
  const x = (v) => left + ((tx(v) - tx(x0)) / (tx(x1) - tx(x0) || 1)) * pw;
  const y = (v) => top + ph - ((v - y0) / (y1 - y0 || 1)) * ph;
  const svg = svgEl(doc, 'svg', {
    xmlns: SVG_NS,
    class: `line-chart ${cls}`,
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': label,
    'font-size': fontSize,
    'font-family': FONT,
  });
  if (title) svg.append(svgEl(doc, 'text', { class: 'axis-title', x: r2(left + pw / 2), y: 16, 'text-anchor': 'middle', 'font-weight': 600 }, title));
  const axis = svgEl(doc, 'g', { class: 'axis' });
  const xs = xTicks ?? (xLog ? log2Ticks(x0, x1) : niceTicks(x0, x1, 5));
  const ys = yTicks ?? niceTicks(y0, y1, 5);
  for (const v of xs) {
    const px = r2(x(v));
    axis.append(
      svgEl(doc, 'line', { class: 'grid', x1: px, x2: px, y1: top, y2: top + ph, stroke: GRID, 'stroke-opacity': 0.3 }),
      svgEl(doc, 'text', { class: 'axis-label', x: px, y: top + ph + 16, 'text-anchor': 'middle', 'font-size': fontSize - 1 }, tickText(v)),
    );
  }
  for (const v of ys) {
    const py = r2(y(v));
    axis.append(
      svgEl(doc, 'line', { class: 'grid', x1: left, x2: left + pw, y1: py, y2: py, stroke: GRID, 'stroke-opacity': 0.3 }),
      svgEl(doc, 'text', { class: 'axis-label', x: left - 6, y: py, 'text-anchor': 'end', 'dominant-baseline': 'central', 'font-size': fontSize - 1 }, tickText(v)),
    );
  }
  axis.append(
    svgEl(doc, 'rect', { class: 'frame', x: left, y: top, width: r2(pw), height: r2(ph), fill: 'none', stroke: GRID }),
    svgEl(doc, 'text', { class: 'axis-title', x: r2(left + pw / 2), y: top + ph + 34, 'text-anchor': 'middle' }, xLabel),
    svgEl(doc, 'text', { class: 'axis-title', x: 0, y: 0, transform: `translate(14 ${r2(top + ph / 2)}) rotate(-90)`, 'text-anchor': 'middle' }, yLabel),
  );
  svg.append(axis);
  const plot = svgEl(doc, 'g', { class: 'plot' });
  svg.append(plot);
  return { svg, plot, x, y, left, top, pw, ph, legendTop: top + ph + 48 };
}

function log2Ticks(lo, hi) {
  const out = [];
  for (let v = 2 ** Math.floor(Math.log2(Math.max(lo, 1e-12))); v <= hi * (1 + 1e-9); v *= 2) if (v >= lo * (1 - 1e-9)) out.push(v);
  return out;
}

/** Legend entries in rows of two columns below the plot; entries: [text, colour, dashed?]. */
function legend(doc, svg, entries, { left, top, width }) {
  const g = svgEl(doc, 'g', { class: 'legend' });
  const cols = entries.length > 1 && entries.every(([t]) => t.length <= 24) ? 2 : 1;
  const colW = Math.floor((width - left - 14) / 2);
  entries.forEach(([text, color, dashed], i) => {
    const lx = left + (i % cols) * colW;
    const ly = top + Math.floor(i / cols) * 17;
    g.append(
      svgEl(doc, 'line', { x1: lx, x2: lx + 18, y1: ly, y2: ly, stroke: color, 'stroke-width': 2.5, 'stroke-dasharray': dashed ? '4 3' : undefined }),
      svgEl(doc, 'text', { class: 'axis-label', x: lx + 23, y: ly, 'dominant-baseline': 'central' }, truncate(text, cols === 2 ? 24 : 52)),
    );
  });
  svg.append(g);
}

/** Rows the legend() layout needs for these texts. */
function legendRowsOf(texts) {
  const cols = texts.length > 1 && texts.every((t) => t.length <= 24) ? 2 : 1;
  return Math.ceil(texts.length / cols);
}

const rocTexts = (per, chosen) => [...chosen.map((k) => (per[k].roc ? `${per[k].label} (AUC 0.000)` : `${per[k].label} (no ROC: one-sided test set)`)), 'chance (AUC 0.5)'];

const pathOf = (pts) => pts.map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${r2(px)} ${r2(py)}`).join(' ');

/**
 * Which classes the PR/ROC charts draw: every class when there are at most `max`; else
 * by average precision ('worst' lowest first, 'best' highest first, 'extremes' half of each),
 * or one class ('class:<index>'). Returns class indices into curves.per_class.
 */
export function pickCurveClasses(perClass, { mode = 'extremes', max = 8 } = {}) {
  const n = perClass?.length ?? 0;
  const all = Array.from({ length: n }, (_, i) => i);
  if (typeof mode === 'string' && mode.startsWith('class:')) {
    const i = Number(mode.slice(6));
    return Number.isInteger(i) && i >= 0 && i < n ? [i] : [];
  }
  if (mode === 'all' || n <= max) return all;
  const byAp = [...all].sort((a, b) => perClass[a].average_precision - perClass[b].average_precision || a - b);
  if (mode === 'worst') return byAp.slice(0, max);
  if (mode === 'best') return byAp.slice(-max).reverse();
  const lo = Math.ceil(max / 2);
  return [...byAp.slice(0, lo), ...byAp.slice(n - (max - lo)).reverse()];
}

/**
 * Precision–recall curves, one per chosen class (one-vs-rest), drawn as steps like
 * scikit-learn's PrecisionRecallDisplay; the legend gives each class's average precision.
 * curves: report.metrics.curves; classes: indices (pickCurveClasses).
 */
export function prCurvesSvg(curves, { classes, doc = globalThis.document } = {}) {
  const per = curves?.per_class ?? [];
  const chosen = classes ?? pickCurveClasses(per);
  const f = frame(doc, {
    cls: 'pr-curves',
    label: `Precision–recall curves of ${chosen.length} of ${per.length} classes, one class against the rest`,
    title: 'Precision–recall (one class vs the rest)',
    xLabel: 'Recall',
    yLabel: 'Precision',
    xDomain: [0, 1],
    yDomain: [0, 1.02],
    yTicks: [0, 0.25, 0.5, 0.75, 1],
    xTicks: [0, 0.25, 0.5, 0.75, 1],
    height: 340 + legendRowsOf(chosen.map((k) => `${per[k].label} (AP 0.000)`)) * 17,
    legendRows: legendRowsOf(chosen.map((k) => `${per[k].label} (AP 0.000)`)),
  });
  const entries = [];
  chosen.forEach((k, s) => {
    const c = per[k];
    const color = seriesColor(s, chosen.length);
    const { recall = [], precision = [] } = c.pr ?? {};
    // matplotlib's drawstyle "steps-post" over the points in their order (recall 1 down to 0),
    // as scikit-learn's PrecisionRecallDisplay draws them.
    const pts = [];
    for (let i = 0; i < recall.length; i++) {
      if (pts.length) pts.push([f.x(recall[i]), pts[pts.length - 1][1]]);
      pts.push([f.x(recall[i]), f.y(precision[i])]);
    }
    const p = svgEl(doc, 'path', { class: 'series', d: pathOf(pts), fill: 'none', stroke: color, 'stroke-width': 2, 'data-class': c.label, 'data-ap': c.average_precision });
    p.append(svgEl(doc, 'title', {}, `${c.label}: average precision ${fmt3(c.average_precision)}`));
    f.plot.append(p);
    entries.push([`${c.label} (AP ${fmt3(c.average_precision)})`, color]);
  });
  legend(doc, f.svg, entries, { left: f.left, top: f.legendTop, width: 460 });
  return f.svg;
}

const fmt3 = (x) => (fin(x) ? x.toFixed(3) : '—');

/**
 * ROC curves, one per chosen class (one-vs-rest), with the chance diagonal; the legend
 * gives each class's AUC (trapezoidal area under its points, as scikit-learn's `auc`).
 * Classes without positives or negatives in the test split have no curve and are listed.
 */
export function rocCurvesSvg(curves, { classes, doc = globalThis.document } = {}) {
  const per = curves?.per_class ?? [];
  const chosen = classes ?? pickCurveClasses(per);
  const f = frame(doc, {
    cls: 'roc-curves',
    label: `ROC curves of ${chosen.length} of ${per.length} classes, one class against the rest`,
    title: 'ROC (one class vs the rest)',
    xLabel: 'False positive rate',
    yLabel: 'True positive rate',
    xDomain: [0, 1],
    yDomain: [0, 1.02],
    yTicks: [0, 0.25, 0.5, 0.75, 1],
    xTicks: [0, 0.25, 0.5, 0.75, 1],
    height: 340 + legendRowsOf(rocTexts(per, chosen)) * 17,
    legendRows: legendRowsOf(rocTexts(per, chosen)),
  });
  f.plot.append(svgEl(doc, 'line', { class: 'chance', x1: f.x(0), y1: f.y(0), x2: f.x(1), y2: f.y(1), stroke: GRID, 'stroke-dasharray': '4 3', 'stroke-width': 1.5 }));
  const entries = [];
  chosen.forEach((k, s) => {
    const c = per[k];
    const color = seriesColor(s, chosen.length);
    if (!c.roc) {
      entries.push([`${c.label} (no ROC: one-sided test set)`, GRID, true]);
      return;
    }
    const auc = trapezoidArea(c.roc.fpr, c.roc.tpr);
    const p = svgEl(doc, 'path', {
      class: 'series',
      d: pathOf(c.roc.fpr.map((v, i) => [f.x(v), f.y(c.roc.tpr[i])])),
      fill: 'none',
      stroke: color,
      'stroke-width': 2,
      'data-class': c.label,
      'data-auc': auc,
    });
    p.append(svgEl(doc, 'title', {}, `${c.label}: ROC AUC ${fmt3(auc)}`));
    f.plot.append(p);
    entries.push([`${c.label} (AUC ${fmt3(auc)})`, color]);
  });
  entries.push(['chance (AUC 0.5)', GRID, true]);
  legend(doc, f.svg, entries, { left: f.left, top: f.legendTop, width: 460 });
  return f.svg;
}

/**
 * Reliability diagram: fraction correct (or positive) against mean predicted probability per
 * bin (scikit-learn's calibration_curve points), the diagonal of perfect calibration, and the
 * ECE in the title (torchmetrics, 15 bins; the points use calibration.n_bins bins).
 */
export function calibrationSvg(calibration, { ece, positiveLabel, doc = globalThis.document } = {}) {
  const top = calibration?.of === 'top_label';
  const xLabel = top ? 'Confidence of the predicted class' : `Predicted probability of ${positiveLabel ?? 'the positive class'}`;
  const yLabel = top ? 'Fraction correct' : 'Fraction positive';
  const f = frame(doc, {
    cls: 'calibration',
    label: `Reliability diagram, ${calibration?.n_bins ?? '?'} bins${fin(ece) ? `, expected calibration error ${fmt3(ece)}` : ''}`,
    title: fin(ece) ? `Calibration · ECE ${fmt3(ece)}` : 'Calibration',
    xLabel,
    yLabel,
    xDomain: [0, 1],
    yDomain: [0, 1.02],
    xTicks: [0, 0.25, 0.5, 0.75, 1],
    yTicks: [0, 0.25, 0.5, 0.75, 1],
    height: 374,
    legendRows: 1,
  });
  f.plot.append(svgEl(doc, 'line', { class: 'chance', x1: f.x(0), y1: f.y(0), x2: f.x(1), y2: f.y(1), stroke: GRID, 'stroke-dasharray': '4 3', 'stroke-width': 1.5 }));
  const xs = calibration?.prob_pred ?? [];
  const ys = calibration?.prob_true ?? [];
  const color = OKABE_ITO[0];
  f.plot.append(svgEl(doc, 'path', { class: 'series', d: pathOf(xs.map((v, i) => [f.x(v), f.y(ys[i])])), fill: 'none', stroke: color, 'stroke-width': 2 }));
  xs.forEach((v, i) => {
    const dot = svgEl(doc, 'circle', { class: 'bin', cx: r2(f.x(v)), cy: r2(f.y(ys[i])), r: 3.5, fill: color, 'data-pred': v, 'data-true': ys[i] });
    dot.append(svgEl(doc, 'title', {}, `mean predicted ${fmt3(v)}, observed ${fmt3(ys[i])}`));
    f.plot.append(dot);
  });
  legend(doc, f.svg, [[`probe (${calibration?.n_bins ?? '?'} bins)`, color], ['perfectly calibrated', GRID, true]], { left: f.left, top: f.legendTop, width: 460 });
  return f.svg;
}

/**
 * Training loss per step: logistic regression's objective per L-BFGS iteration, or the MLP's
 * mean loss per epoch. unit: 'iteration' | 'epoch'. Steps are numbered from 1.
 */
export function lossCurveSvg(values, { unit = 'iteration', yLabel, doc = globalThis.document } = {}) {
  const vs = (values ?? []).filter(fin);
  const lo = vs.length ? Math.min(...vs) : 0;
  const hi = vs.length ? Math.max(...vs) : 1;
  const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
  const yDomain = [lo - pad, hi + pad];
  const n = Math.max(1, values?.length ?? 0);
  const f = frame(doc, {
    cls: 'loss-curve',
    label: `Training loss over ${values?.length ?? 0} ${unit}s`,
    title: `Training loss per ${unit}`,
    xLabel: unit === 'epoch' ? 'Epoch' : 'L-BFGS iteration',
    yLabel: yLabel ?? (unit === 'epoch' ? 'Mean cross-entropy' : 'Objective'),
    xDomain: [1, Math.max(2, n)],
    yDomain,
    xTicks: niceTicks(1, Math.max(2, n), 6).filter((t) => t >= 1),
  });
  const pts = (values ?? []).map((v, i) => [f.x(i + 1), f.y(v)]).filter(([, py]) => fin(py));
  const p = svgEl(doc, 'path', { class: 'series', d: pathOf(pts), fill: 'none', stroke: OKABE_ITO[0], 'stroke-width': 2, 'data-steps': values?.length ?? 0 });
  p.append(svgEl(doc, 'title', {}, `${unit} 1: ${vs.length ? vs[0].toPrecision(6) : '—'}; ${unit} ${values?.length ?? 0}: ${vs.length ? vs[vs.length - 1].toPrecision(6) : '—'}`));
  f.plot.append(p);
  return f.svg;
}

/**
 * Few-shot learning curve: mean score against shots per class, with a ±1 std band.
 * points: [{shots, mean, std}] (any order); metric names the y axis.
 */
export function learningCurveSvg(points, { metric = 'Accuracy', doc = globalThis.document } = {}) {
  const pts = (points ?? []).filter((p) => fin(p?.shots) && p.shots > 0 && fin(p?.mean)).sort((a, b) => a.shots - b.shots);
  const sd = (p) => (fin(p.std) ? p.std : 0);
  const lo = pts.length ? Math.min(...pts.map((p) => p.mean - sd(p))) : 0;
  const hi = pts.length ? Math.max(...pts.map((p) => p.mean + sd(p))) : 1;
  const yDomain = [Math.max(0, Math.floor(lo * 10) / 10), Math.min(1, Math.ceil(hi * 10) / 10)];
  if (!(yDomain[1] > yDomain[0])) yDomain[1] = yDomain[0] + 0.1;
  const x0 = pts.length ? pts[0].shots : 1;
  const x1 = pts.length ? pts[pts.length - 1].shots : 2;
  const xLog = x1 / x0 >= 8;
  const f = frame(doc, {
    cls: 'learning-curve',
    label: `Few-shot learning curve: ${metric.toLowerCase()} at ${pts.map((p) => p.shots).join(', ')} shots per class, mean ± standard deviation`,
    title: `Few-shot learning curve (mean ± std)`,
    xLabel: `Training samples per class (shots)${xLog ? ', log scale' : ''}`,
    yLabel: metric,
    xDomain: [x0, x1 > x0 ? x1 : x0 + 1],
    yDomain,
    xLog,
    xTicks: xLog ? undefined : niceTicks(x0, x1 > x0 ? x1 : x0 + 1, 6),
  });
  const color = OKABE_ITO[0];
  const band = [...pts.map((p) => [f.x(p.shots), f.y(p.mean + sd(p))]), ...[...pts].reverse().map((p) => [f.x(p.shots), f.y(p.mean - sd(p))])];
  if (pts.length > 1) f.plot.append(svgEl(doc, 'path', { class: 'band', d: `${pathOf(band)} Z`, fill: color, 'fill-opacity': 0.2, stroke: 'none' }));
  f.plot.append(svgEl(doc, 'path', { class: 'series', d: pathOf(pts.map((p) => [f.x(p.shots), f.y(p.mean)])), fill: 'none', stroke: color, 'stroke-width': 2 }));
  for (const p of pts) {
    const dot = svgEl(doc, 'circle', { class: 'point', cx: r2(f.x(p.shots)), cy: r2(f.y(p.mean)), r: 3.5, fill: color, 'data-shots': p.shots, 'data-mean': p.mean, 'data-std': sd(p) });
    dot.append(svgEl(doc, 'title', {}, `${p.shots} shot${p.shots === 1 ? '' : 's'}: ${fmt3(p.mean)} ± ${fmt3(sd(p))}`));
    f.plot.append(dot);
  }
  return f.svg;
}

/** Few-shot curve points in a report, wherever the protocol keeps them ([{shots, mean, std}]), or null. */
export function fewShotPoints(report) {
  const p = report?.protocol;
  if (!p || typeof p !== 'object') return null;
  const isCurve = (v) => Array.isArray(v) && v.length > 0 && v.every((q) => q && fin(q.shots) && (fin(q.mean) || fin(q.mean?.accuracy)));
  for (const v of [p.few_shot, p.curve, p.learning_curve, p.shots, p.points, ...Object.values(p)]) {
    if (isCurve(v)) return v.map((q) => ({ shots: q.shots, mean: fin(q.mean) ? q.mean : q.mean.accuracy, std: fin(q.std) ? q.std : fin(q.std?.accuracy) ? q.std.accuracy : 0 }));
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const w of Object.values(v)) if (isCurve(w)) return fewShotPoints({ protocol: { x: w } });
    }
  }
  return null;
}

/**
 * 2-D embedding scatter (PCA coordinates, or t-SNE with method 'tsne'), one dot per test item
 * coloured by its true class. coords: flat [x0, y0, x1, y1, …]; classes: true class index per
 * point; items: the item index per point (data-item, for the gallery). Wrong predictions (pred
 * given) get a dark ring. explained: PCA's variance ratios (axis labels); perplexity: t-SNE's.
 */
export function scatterSvg(coords, classes, labels, { items, pred, explained, method = 'pca', perplexity, doc = globalThis.document } = {}) {
  const n = classes.length;
  const xs = Array.from({ length: n }, (_, i) => coords[2 * i]);
  const ys = Array.from({ length: n }, (_, i) => coords[2 * i + 1]);
  const ext = (v) => {
    const f = v.filter(fin);
    const lo = f.length ? Math.min(...f) : -1;
    const hi = f.length ? Math.max(...f) : 1;
    const pad = (hi - lo) * 0.04 || 1;
    return [lo - pad, hi + pad];
  };
  const k = labels.length;
  const legendRows = Math.ceil(Math.min(k, 40) / 2);
  const ev = (i) => (fin(explained?.[i]) ? ` (${(explained[i] * 100).toFixed(1)} % of variance)` : '');
  const tsne = method === 'tsne';
  const perp = fin(perplexity) ? ` (perplexity ${Number(perplexity.toFixed(2))})` : '';
  const f = frame(doc, {
    cls: 'embedding-scatter',
    label: tsne
      ? `t-SNE${perp} of the ${n} test embeddings, coloured by true class (${k} classes)`
      : `PCA of the ${n} test embeddings, coloured by true class (${k} classes)`,
    title: tsne ? `Test embeddings, t-SNE${perp}` : 'Test embeddings, first two principal components',
    xLabel: tsne ? 't-SNE 1' : `PC 1${ev(0)}`,
    yLabel: tsne ? 't-SNE 2' : `PC 2${ev(1)}`,
    xDomain: ext(xs),
    yDomain: ext(ys),
    width: 520,
    height: 420 + legendRows * 17,
    legendRows,
  });
  const dots = svgEl(doc, 'g', { class: 'points' });
  for (let i = 0; i < n; i++) {
    if (!fin(xs[i]) || !fin(ys[i])) continue;
    const c = classes[i];
    const wrong = pred && pred[i] !== c;
    const dot = svgEl(doc, 'circle', {
      class: wrong ? 'point wrong' : 'point',
      cx: r2(f.x(xs[i])),
      cy: r2(f.y(ys[i])),
      r: n > 2000 ? 2 : 3.5,
      fill: seriesColor(c, k),
      'fill-opacity': 0.85,
      stroke: wrong ? '#1a1a1a' : undefined,
      'stroke-width': wrong ? 1.2 : undefined,
      'data-i': i,
      'data-item': items ? items[i] : i,
      'data-class': c,
    });
    dot.append(svgEl(doc, 'title', {}, `${labels[c]}${wrong ? `, predicted ${labels[pred[i]]}` : ''} (item ${items ? items[i] : i})`));
    dots.append(dot);
  }
  f.plot.append(dots);
  const g = svgEl(doc, 'g', { class: 'legend' });
  labels.slice(0, 40).forEach((l, i) => {
    const lx = f.left + (i % 2) * 220;
    const ly = f.legendTop + Math.floor(i / 2) * 17;
    g.append(
      svgEl(doc, 'circle', { cx: lx + 6, cy: ly, r: 5, fill: seriesColor(i, k) }),
      svgEl(doc, 'text', { class: 'axis-label', x: lx + 16, y: ly, 'dominant-baseline': 'central' }, truncate(String(l), 28)),
    );
  });
  if (k > 40) g.append(svgEl(doc, 'text', { class: 'axis-label', x: f.left, y: f.legendTop + 20 * 17, 'dominant-baseline': 'central' }, `… and ${k - 40} more classes`));
  f.svg.append(g);
  f.svg.dataset.plot = `${f.left},${f.top},${r2(f.pw)},${r2(f.ph)}`;
  f.svg.dataset.method = tsne ? 'tsne' : 'pca';
  return f.svg;
}

/**
 * Difference of two confusion matrices (B − A counts on the same test items) as a diverging
 * heatmap coloured by which side it favours: blue where B does better (more correct on the
 * diagonal, fewer errors off it), orange where A does (Okabe–Ito ends, colour-blind safe).
 */
export function diffMatrixSvg(labels, matrixA, matrixB, { doc = globalThis.document } = {}) {
  const n = labels.length;
  const diff = matrixA.map((row, i) => row.map((v, j) => matrixB[i][j] - v));
  const maxAbs = Math.max(1, ...diff.flat().map(Math.abs));
  const shown = labels.map((l) => truncate(String(l), 12));
  const longest = Math.max(1, ...shown.map((l) => l.length));
  const cell = n <= 4 ? 56 : n <= 12 ? 40 : n <= 30 ? 26 : 16;
  const fontSize = n <= 12 ? 12 : n <= 30 ? 10 : 8;
  const labelSpace = Math.ceil(longest * fontSize * 0.62) + 10;
  const left = 22 + labelSpace;
  const top = 22 + Math.ceil(labelSpace * 0.72);
  const size = n * cell;
  const width = left + size + Math.ceil(labelSpace * 0.72) + 4;
  const height = top + size + 8;
  const svg = svgEl(doc, 'svg', {
    xmlns: SVG_NS,
    class: 'diff-matrix',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `Difference of confusion matrices, B minus A, ${n} classes`,
    'font-size': fontSize,
    'font-family': FONT,
  });
  svg.append(
    svgEl(doc, 'text', { class: 'axis-title', x: r2(left + size / 2), y: 14, 'text-anchor': 'middle', 'font-weight': 600 }, 'Predicted label'),
    svgEl(doc, 'text', { class: 'axis-title', x: 0, y: 0, transform: `translate(14 ${r2(top + size / 2)}) rotate(-90)`, 'text-anchor': 'middle', 'font-weight': 600 }, 'True label'),
  );
  labels.forEach((_, d) => {
    svg.append(
      svgEl(doc, 'text', { class: 'axis-label', transform: `translate(${r2(left + d * cell + cell / 2)} ${top - 6}) rotate(-45)`, 'text-anchor': 'start' }, shown[d]),
      svgEl(doc, 'text', { class: 'axis-label', x: left - 6, y: r2(top + d * cell + cell / 2), 'text-anchor': 'end', 'dominant-baseline': 'central' }, shown[d]),
    );
  });
  const blue = [0, 114, 178];
  const orange = [230, 159, 0];
  const cells = svgEl(doc, 'g', { class: 'cells' });
  diff.forEach((row, i) =>
    row.forEach((v, j) => {
      const t = Math.abs(v) / maxAbs;
      const bBetter = i === j ? v > 0 : v < 0;
      const base = bBetter ? blue : orange;
      const rgb = base.map((c) => Math.round(255 + (c - 255) * t));
      const g = svgEl(doc, 'g', { class: v === 0 ? 'cell' : bBetter ? 'cell b-better' : 'cell a-better', 'data-row': i, 'data-col': j, 'data-diff': v });
      g.append(svgEl(doc, 'rect', { x: left + j * cell, y: top + i * cell, width: cell, height: cell, fill: v === 0 ? '#ffffff' : `rgb(${rgb.join(', ')})`, stroke: '#d0d5db' }));
      if (n <= 30 && v !== 0) {
        g.append(svgEl(doc, 'text', { x: left + j * cell + cell / 2, y: top + i * cell + cell / 2, 'text-anchor': 'middle', 'dominant-baseline': 'central', fill: t > 0.6 ? '#ffffff' : '#1a1a1a' }, v > 0 ? `+${v}` : String(v)));
      }
      g.append(svgEl(doc, 'title', {}, `true ${labels[i]}, predicted ${labels[j]}: A ${matrixA[i][j]}, B ${matrixB[i][j]} (B − A ${v > 0 ? '+' : ''}${v})`));
      cells.append(g);
    }),
  );
  svg.append(cells);
  return svg;
}
