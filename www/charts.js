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
