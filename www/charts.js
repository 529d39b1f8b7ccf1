// Charts as pure functions: data in, detached SVG element out.

const SVG_NS = 'http://www.w3.org/2000/svg';

function svgEl(doc, tag, attrs = {}, text) {
  const el = doc.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Sequential blue scale, t in [0, 1] -> 'rgb(r, g, b)'. */
export function heatColor(t) {
  const lo = [239, 246, 255];
  const hi = [8, 48, 107];
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  const c = lo.map((a, i) => Math.round(a + (hi[i] - a) * u));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

function truncate(label, max) {
  return label.length <= max ? label : `${label.slice(0, max - 1)}…`;
}

/**
 * Confusion-matrix heatmap. Rows are true labels, columns predicted labels.
 * Each cell is a <g class="cell"> with data-row, data-col, data-count (and
 * data-fraction, the row-normalised value). normalize: 'none' shows counts,
 * 'true' shows each count as a fraction of its row (true-label) total.
 */
export function confusionMatrixSvg(labels, matrix, { normalize = 'none', doc = globalThis.document } = {}) {
  const n = labels.length;
  const shown = labels.map((l) => truncate(String(l), 12));
  const longest = Math.max(1, ...shown.map((l) => l.length));
  const cell = n <= 12 ? 44 : n <= 30 ? 28 : 18;
  const fontSize = n <= 12 ? 13 : n <= 30 ? 10 : 8;
  const labelSpace = Math.ceil(longest * fontSize * 0.62) + 10;
  const titleSpace = 22;
  const left = titleSpace + labelSpace;
  const top = titleSpace + labelSpace;
  const size = n * cell;
  const width = left + size + 8;
  const height = top + size + 8;

  const rowSums = matrix.map((row) => row.reduce((a, b) => a + b, 0));
  const fractions = matrix.map((row, i) => row.map((v) => (rowSums[i] > 0 ? v / rowSums[i] : 0)));
  const maxCount = Math.max(1, ...matrix.flat());
  const normalized = normalize === 'true';

  const svg = svgEl(doc, 'svg', {
    xmlns: SVG_NS,
    class: 'confusion-matrix',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `Confusion matrix, ${n} classes, ${normalized ? 'row-normalised' : 'counts'}; rows are true labels, columns predicted labels`,
    'font-size': fontSize,
  });

  svg.append(
    svgEl(doc, 'text', { class: 'axis-title', x: left + size / 2, y: 14, 'text-anchor': 'middle' }, 'Predicted label'),
    svgEl(
      doc,
      'text',
      {
        class: 'axis-title',
        x: 0,
        y: 0,
        transform: `translate(14 ${top + size / 2}) rotate(-90)`,
        'text-anchor': 'middle',
      },
      'True label',
    ),
  );

  const colLabels = svgEl(doc, 'g', { class: 'col-labels' });
  const rowLabels = svgEl(doc, 'g', { class: 'row-labels' });
  labels.forEach((label, i) => {
    const c = left + i * cell + cell / 2;
    const col = svgEl(
      doc,
      'text',
      { class: 'axis-label', transform: `translate(${c} ${top - 6}) rotate(-45)`, 'text-anchor': 'start' },
      shown[i],
    );
    const row = svgEl(
      doc,
      'text',
      { class: 'axis-label', x: left - 6, y: top + i * cell + cell / 2, 'text-anchor': 'end', 'dominant-baseline': 'central' },
      shown[i],
    );
    col.append(svgEl(doc, 'title', {}, String(label)));
    row.append(svgEl(doc, 'title', {}, String(label)));
    colLabels.append(col);
    rowLabels.append(row);
  });
  svg.append(colLabels, rowLabels);

  const cells = svgEl(doc, 'g', { class: 'cells' });
  matrix.forEach((row, i) => {
    row.forEach((count, j) => {
      const frac = fractions[i][j];
      const t = normalized ? frac : count / maxCount;
      const g = svgEl(doc, 'g', {
        class: i === j ? 'cell diagonal' : 'cell',
        'data-row': i,
        'data-col': j,
        'data-count': count,
        'data-fraction': frac,
      });
      g.append(
        svgEl(doc, 'rect', {
          x: left + j * cell,
          y: top + i * cell,
          width: cell,
          height: cell,
          fill: heatColor(t),
        }),
      );
      if (n <= 30) {
        const text = normalized ? (count === 0 ? '0' : frac.toFixed(2)) : String(count);
        g.append(
          svgEl(
            doc,
            'text',
            {
              x: left + j * cell + cell / 2,
              y: top + i * cell + cell / 2,
              'text-anchor': 'middle',
              'dominant-baseline': 'central',
              fill: t > 0.5 ? '#ffffff' : '#1a1a1a',
              'font-size': normalized && n > 12 ? fontSize - 1 : fontSize,
            },
            text,
          ),
        );
      }
      g.append(
        svgEl(
          doc,
          'title',
          {},
          `true ${labels[i]}, predicted ${labels[j]}: ${count} of ${rowSums[i]} (${(frac * 100).toFixed(1)}% of row)`,
        ),
      );
      cells.append(g);
    });
  });
  svg.append(cells);
  svg.append(
    svgEl(doc, 'rect', { class: 'frame', x: left, y: top, width: size, height: size, fill: 'none' }),
  );
  return svg;
}
