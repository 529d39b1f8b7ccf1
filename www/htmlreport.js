// Self-contained HTML report: static markup and inline SVG, no scripts, renders offline.
// Every string from the report goes through escapeHtml; charts come in as serialised SVG.

import {
  calibrationSvg,
  confusionMatrixSvg,
  fewShotPoints,
  learningCurveSvg,
  lossCurveSvg,
  perClassBarsSvg,
  pickCurveClasses,
  prCurvesSvg,
  rocCurvesSvg,
} from './charts.js';
import { METRICS, OPTIONAL_METRICS, TERMS, MIN_SUPPORT, lowSupportClasses, metricCi, probeText, shownMetrics } from './views.js';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value) {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const num = (x, d = 4) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '—');

const STYLE = `
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#5b6470;--border:#d8dde3;--warn-bg:#fff6dd;--warn-border:#e8cf86;--low:#b34700;--dot-outline:rgba(27,31,36,.6)}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ed;--bg:#1b1f24;--muted:#9aa4b0;--border:#323a44;--warn-bg:#3a3112;--warn-border:#6e5c22;--low:#ffa657;--dot-outline:rgba(230,233,237,.6)}}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:var(--fg);background:var(--bg);max-width:60rem;margin:0 auto;padding:1rem 1.25rem 3rem}
h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.15rem;margin:1.75rem 0 .5rem;border-bottom:1px solid var(--border);padding-bottom:.2rem}
h3{font-size:1rem;margin:1rem 0 .25rem}.muted{color:var(--muted)}.metrics{display:grid;grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr));gap:.5rem}
.metric{border:1px solid var(--border);border-radius:8px;padding:.5rem .7rem}.metric .label{display:block;font-size:.8rem;color:var(--muted)}
.metric .value{font-size:1.3rem;font-weight:650;font-variant-numeric:tabular-nums}.metric .ci{display:block;font-size:.75rem;color:var(--muted)}
table{border-collapse:collapse;font-size:.92rem}th,td{padding:.25rem .7rem;border-bottom:1px solid var(--border);text-align:left}
.num{text-align:right;font-variant-numeric:tabular-nums}.warn{background:var(--warn-bg);border:1px solid var(--warn-border);border-radius:8px;padding:.5rem .9rem}
.chart{overflow-x:auto}.chart svg{display:block;max-width:100%;height:auto}dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .9rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,22rem),1fr));gap:.5rem 1.25rem}figure{margin:0;min-width:0}figcaption{color:var(--muted);font-size:.85rem}
svg .axis-label,svg .axis-title,svg text.support{fill:currentColor}svg .low-support{fill:var(--low)}
svg.line-chart .series[stroke="#000000"],svg.line-chart .legend line[stroke="#000000"]{stroke:currentColor}svg.embedding-scatter .point.wrong{stroke:currentColor;stroke-width:1.8}
svg.confusion-matrix .cell rect{stroke:var(--bg)}
svg.embedding-scatter .point:not(.wrong),svg.embedding-scatter .legend circle{stroke:var(--dot-outline);stroke-width:.8}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;overflow-wrap:anywhere}dl.help dt{font-weight:600}dl.help dd{margin:0 0 .5rem}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;overflow-wrap:anywhere}
`;

function kv(rows) {
  return `<dl class="kv">${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}

const serialize = (svg) => new XMLSerializer().serializeToString(svg);

/** Probe training loss in a report ({values, unit}) or null. */
export function lossOf(report) {
  const probe = report?.probe ?? {};
  if (Array.isArray(probe.loss_per_iteration) && probe.loss_per_iteration.length > 0) return { values: probe.loss_per_iteration, unit: 'iteration' };
  if (Array.isArray(probe.loss_per_epoch) && probe.loss_per_epoch.length > 0) return { values: probe.loss_per_epoch, unit: 'epoch' };
  return null;
}

/** The embedding map's heading and description in the HTML report, by projection. */
const MAP_HEAD = {
  pca: `<h2>Embedding map (PCA)</h2>
<p class="muted">The test images' embeddings projected on their two main directions of variation, coloured by true class; a thick ring marks a wrong prediction.</p>`,
  tsne: `<h2>Embedding map (t-SNE)</h2>
<p class="muted">The test embeddings placed by t-SNE so that near neighbours stay near, coloured by true class; a thick ring marks a wrong prediction. Which points cluster together means something; distances between clusters and cluster sizes do not.</p>`,
};

/**
 * The charts of a report as serialised SVG strings for htmlReport: confusion matrix, per-class
 * bars, and when the report has them PR and ROC curves (every class up to 8, else the 4
 * lowest and 4 highest average precision), calibration, training loss and few-shot curve.
 * scatter: the page's embedding-map SVG element, when it has one (it needs the embeddings,
 * which are not in the report). XMLSerializer escapes every text.
 */
export function reportCharts(report, { scatter = null, doc = globalThis.document } = {}) {
  const m = report.metrics ?? {};
  const cm = m.confusion_matrix;
  const charts = {};
  if (cm) {
    const matrix = confusionMatrixSvg(cm.labels, cm.matrix, { normalize: 'none', doc });
    // A static file has nothing to open: the cells are plain graphics there.
    for (const cell of matrix.querySelectorAll('.cell')) {
      cell.removeAttribute('tabindex');
      cell.removeAttribute('role');
    }
    charts.matrix = serialize(matrix);
    charts.bars = serialize(perClassBarsSvg(cm.labels, m.per_class, { minSupport: MIN_SUPPORT, doc }));
  }
  const per = m.curves?.per_class;
  if (Array.isArray(per) && per.length > 0) {
    const classes = pickCurveClasses(per);
    charts.curveClasses = classes.length < per.length ? `${classes.length} of ${per.length} classes: the 4 with the lowest and the 4 with the highest average precision` : '';
    charts.pr = serialize(prCurvesSvg(m.curves, { classes, doc }));
    charts.roc = serialize(rocCurvesSvg(m.curves, { classes, doc }));
    if (m.curves.calibration) charts.calibration = serialize(calibrationSvg(m.curves.calibration, { ece: m.ece, positiveLabel: cm?.labels?.[1], doc }));
  }
  const loss = lossOf(report);
  if (loss) charts.loss = serialize(lossCurveSvg(loss.values, { unit: loss.unit, doc }));
  const shots = fewShotPoints(report);
  if (shots) charts.learning = serialize(learningCurveSvg(shots, { doc }));
  if (scatter) {
    const copy = scatter.cloneNode(true);
    for (const c of copy.querySelectorAll('.selected')) c.classList.remove('selected');
    for (const b of copy.querySelectorAll('.brush')) b.remove();
    for (const dot of copy.querySelectorAll('[tabindex]')) {
      dot.removeAttribute('tabindex');
      dot.removeAttribute('role');
      dot.removeAttribute('aria-label');
    }
    charts.scatter = serialize(copy);
    charts.scatterMethod = copy.dataset.method === 'tsne' ? 'tsne' : 'pca';
  }
  return charts;
}

const figure = (svg, caption) => (svg ? `<figure><div class="chart">${svg}</div>${caption ? `<figcaption>${escapeHtml(caption)}</figcaption>` : ''}</figure>` : '');

/**
 * The HTML text of a report. charts: serialised SVG strings from reportCharts (matrix, bars,
 * pr, roc, calibration, loss, learning, scatter; each optional). generated: a date string.
 */
export function htmlReport(report, { charts = {}, generated = new Date().toISOString() } = {}) {
  const m = report.metrics ?? {};
  const p = report.protocol ?? {};
  const labels = m.confusion_matrix?.labels ?? [];
  const title = `Downstream report: ${report.model?.name ?? 'model'} on ${report.data?.name ?? 'data'}`;

  const tiles = shownMetrics(m).filter(([k]) => typeof m[k] === 'number')
    .map(([k, label, help]) => {
      const ci = metricCi(m, k);
      const ciText = ci ? `<span class="ci">CI ${num(ci.low, 3)}–${num(ci.high, 3)}</span>` : '';
      return `<div class="metric" title="${escapeHtml(help)}" data-metric="${escapeHtml(k)}"><span class="label">${escapeHtml(label)}</span><span class="value">${num(m[k])}</span>${ciText}</div>`;
    })
    .join('');

  const low = lowSupportClasses(m);
  const lowNote = low.length
    ? `<p class="warn">⚠ ${low.length} class${low.length === 1 ? ' has' : 'es have'} fewer than ${MIN_SUPPORT} test images: ${escapeHtml(low.map(([l, s]) => `${l} (${s})`).join(', '))}. Their per-class scores are unreliable.</p>`
    : '';
  const warnings = (m.warnings ?? []).length
    ? `<div class="warn"><strong>Warnings</strong><ul>${m.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></div>`
    : '';

  const perClassRows = labels
    .map((l) => {
      const c = m.per_class?.[l] ?? {};
      const flag = typeof c.support === 'number' && c.support < MIN_SUPPORT ? '⚠ ' : '';
      return `<tr><th scope="row">${escapeHtml(l)}</th><td class="num">${num(c.precision)}</td><td class="num">${num(c.recall)}</td><td class="num">${num(c.f1)}</td><td class="num">${flag}${escapeHtml(c.support ?? '—')}</td></tr>`;
    })
    .join('');

  const matrixRows = (m.confusion_matrix?.matrix ?? [])
    .map((row, i) => `<tr><th scope="row">${escapeHtml(labels[i])}</th>${row.map((v) => `<td class="num">${escapeHtml(v)}</td>`).join('')}</tr>`)
    .join('');

  const help = [...[...METRICS, ...OPTIONAL_METRICS].map(([, label, , long]) => [label, long]), ...TERMS]
    .map(([t, d]) => `<dt>${escapeHtml(t)}</dt><dd>${escapeHtml(d)}</dd>`)
    .join('');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Downstream ${escapeHtml(report.tool?.version ?? '')}">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="muted">Linear-probe evaluation made with ${escapeHtml(report.tool?.name ?? 'downstream')} ${escapeHtml(report.tool?.version ?? '')}; this file was written ${escapeHtml(generated)} and needs no network.</p>
<h2>Scores on the test split</h2>
<div class="metrics">${tiles}</div>
${lowNote}${warnings}
<h2>Run</h2>
${kv([
  ['Model', `${report.model?.name ?? '—'} (SHA-256 ${report.model?.sha256 ?? '—'})`],
  ['Data', `${report.data?.name ?? '—'}: ${report.data?.n ?? '—'} images, ${labels.length} classes (SHA-256 ${report.data?.sha256 ?? '—'})`],
  ['Protocol', `${p.name ?? '—'} · seed ${p.seed} · test fraction ${p.test_fraction} · ${p.n_train} train / ${p.n_test} test`],
  ['Probe', probeText(report.probe ?? {})],
  ['Preprocessing', `${report.preprocessing?.height}×${report.preprocessing?.width}, ${report.preprocessing?.channels} ch, ${report.preprocessing?.layout}; ${report.preprocessing?.scale}`],
])}
<h2>Confusion matrix</h2>
<p class="muted">Rows are true labels, columns predicted labels.</p>
${charts.matrix ? `<div class="chart">${charts.matrix}</div>` : ''}
<details><summary>As a table</summary><div class="chart"><table><thead><tr><th>true \\ predicted</th>${labels.map((l) => `<th scope="col">${escapeHtml(l)}</th>`).join('')}</tr></thead><tbody>${matrixRows}</tbody></table></div></details>
<h2>Per-class scores</h2>
${charts.bars ? `<div class="chart">${charts.bars}</div>` : ''}
<div class="chart"><table><thead><tr><th>Class</th><th class="num">Precision</th><th class="num">Recall</th><th class="num">F1</th><th class="num">Support</th></tr></thead><tbody>${perClassRows}</tbody></table></div>
${charts.pr || charts.roc || charts.calibration ? `<h2>Curves</h2>
<p class="muted">Each class against the rest, from the probe's class scores on the test split${charts.curveClasses ? ` (${escapeHtml(charts.curveClasses)})` : ''}. Precision–recall: how precise the probe stays as it finds more of a class (AP = area under it). ROC: true against false positive rate as the threshold falls (AUC 0.5 is chance, 1 perfect). Calibration: whether a confidence of 0.8 is right 80 % of the time (on the diagonal); ECE is the average gap.</p>
<div class="grid">${figure(charts.pr)}${figure(charts.roc)}${figure(charts.calibration)}</div>` : ''}
${charts.loss || charts.learning ? `<h2>Training</h2>
<div class="grid">${figure(charts.loss, "How the probe's training loss fell while it was fitted; a curve still falling at the end means the fit stopped early.")}${figure(charts.learning, 'Score with k training samples per class, mean ± standard deviation over repeated draws.')}</div>` : ''}
${charts.scatter ? `${MAP_HEAD[charts.scatterMethod] ?? MAP_HEAD.pca}
${figure(charts.scatter)}` : ''}
<h2>What the numbers mean</h2>
<dl class="help">${help}</dl>
</body>
</html>
`;
}
