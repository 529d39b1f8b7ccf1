// Self-contained HTML report: static markup and inline SVG, no scripts, renders offline.
// Every string from the report goes through escapeHtml; charts come in as serialised SVG.

import { METRICS, TERMS, MIN_SUPPORT, lowSupportClasses, metricCi, probeText } from './views.js';

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
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1b1f24;background:#fff;max-width:60rem;margin:0 auto;padding:1rem 1.25rem 3rem}
h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.15rem;margin:1.75rem 0 .5rem;border-bottom:1px solid #d8dde3;padding-bottom:.2rem}
.muted{color:#5b6470}.metrics{display:grid;grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr));gap:.5rem}
.metric{border:1px solid #d8dde3;border-radius:8px;padding:.5rem .7rem}.metric .label{display:block;font-size:.8rem;color:#5b6470}
.metric .value{font-size:1.3rem;font-weight:650;font-variant-numeric:tabular-nums}.metric .ci{display:block;font-size:.75rem;color:#5b6470}
table{border-collapse:collapse;font-size:.92rem}th,td{padding:.25rem .7rem;border-bottom:1px solid #d8dde3;text-align:left}
.num{text-align:right;font-variant-numeric:tabular-nums}.warn{background:#fff6dd;border:1px solid #e8cf86;border-radius:8px;padding:.5rem .9rem}
.chart{overflow-x:auto}.chart svg{max-width:100%;height:auto}dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .9rem}
dl.kv dt{color:#5b6470}dl.kv dd{margin:0;overflow-wrap:anywhere}dl.help dt{font-weight:600}dl.help dd{margin:0 0 .5rem}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;overflow-wrap:anywhere}
`;

function kv(rows) {
  return `<dl class="kv">${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}

/**
 * The HTML text of a report. charts: { matrix, bars } as serialised SVG strings (built by
 * charts.js on the page; XMLSerializer escapes their text). generated: a date string.
 */
export function htmlReport(report, { charts = {}, generated = new Date().toISOString() } = {}) {
  const m = report.metrics ?? {};
  const p = report.protocol ?? {};
  const labels = m.confusion_matrix?.labels ?? [];
  const title = `Downstream report: ${report.model?.name ?? 'model'} on ${report.data?.name ?? 'data'}`;

  const tiles = METRICS.filter(([k]) => typeof m[k] === 'number')
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

  const help = [...METRICS.map(([, label, , long]) => [label, long]), ...TERMS]
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
<table><thead><tr><th>Class</th><th class="num">Precision</th><th class="num">Recall</th><th class="num">F1</th><th class="num">Support</th></tr></thead><tbody>${perClassRows}</tbody></table>
<h2>What the numbers mean</h2>
<dl class="help">${help}</dl>
</body>
</html>
`;
}
