// SVG snapshot tests of the chart functions in www/charts.js, run in the browser on fixed
// inputs. Numbers are normalised to 3 decimals so the snapshots do not depend on float
// formatting. `UPDATE_SNAPSHOTS=1 node --test tests/e2e/charts.test.mjs` rewrites them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, TEST_TIMEOUT, openPage, readReport, useBrowser } from './helpers.mjs';

useBrowser();

const SNAPSHOTS = path.join(ROOT, 'tests/e2e/snapshots');
const UPDATE = process.env.UPDATE_SNAPSHOTS === '1';

/**
 * Curve points of three classes in the shape of report.metrics.curves, from scikit-learn 1.9.1
 * (`precision_recall_curve`, `roc_curve` with the first +inf threshold dropped as the report
 * does, `average_precision_score`) on y_true = [0,0,1,1,2,2,0,1] with one-vs-rest scores
 * cat [.9,.3,.35,.2,.1,.4,.6,.5], dog [.05,.5,.6,.3,.2,.3,.3,.4], fish [.05,.2,.05,.5,.7,.3,.1,.1].
 * `roc_auc_score` of the three: SKLEARN_AUC.
 */
const CURVES = {
  per_class: [{"label": "cat", "average_precision": 0.8333333333333333, "pr": {"precision": [0.375, 0.42857142857142855, 0.5, 0.4, 0.5, 0.6666666666666666, 1.0, 1.0, 1.0], "recall": [1.0, 1.0, 1.0, 0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 0.3333333333333333, 0.0], "thresholds": [0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.9]}, "roc": {"fpr": [0.0, 0.0, 0.0, 0.6, 0.6, 1.0], "tpr": [0.0, 0.3333333333333333, 0.6666666666666666, 0.6666666666666666, 1.0, 1.0], "thresholds": [0.9, 0.6, 0.35, 0.3, 0.1]}}, {"label": "dog", "average_precision": 0.7222222222222222, "pr": {"precision": [0.375, 0.42857142857142855, 0.5, 0.6666666666666666, 0.5, 1.0, 1.0], "recall": [1.0, 1.0, 1.0, 0.6666666666666666, 0.3333333333333333, 0.3333333333333333, 0.0], "thresholds": [0.05, 0.2, 0.3, 0.4, 0.5, 0.6]}, "roc": {"fpr": [0.0, 0.0, 0.2, 0.2, 0.6, 1.0], "tpr": [0.0, 0.3333333333333333, 0.3333333333333333, 0.6666666666666666, 1.0, 1.0], "thresholds": [0.6, 0.5, 0.4, 0.3, 0.05]}}, {"label": "fish", "average_precision": 0.8333333333333333, "pr": {"precision": [0.25, 0.3333333333333333, 0.5, 0.6666666666666666, 0.5, 1.0, 1.0], "recall": [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.0], "thresholds": [0.05, 0.1, 0.2, 0.3, 0.5, 0.7]}, "roc": {"fpr": [0.0, 0.0, 0.16666666666666666, 0.16666666666666666, 0.3333333333333333, 1.0], "tpr": [0.0, 0.5, 0.5, 1.0, 1.0, 1.0], "thresholds": [0.7, 0.5, 0.3, 0.2, 0.05]}}],
  calibration: { of: 'top_label', n_bins: 10, prob_true: [0.5, 0.6666666666666666, 1], prob_pred: [0.45, 0.6333333333333333, 0.85] },
};
const SKLEARN_AUC = [0.8, 0.7999999999999999, 0.9166666666666667];
/** The same curves with fish's ROC missing, as the report has it for a class with no test negatives. */
const CURVES_NO_FISH_ROC = { ...CURVES, per_class: CURVES.per_class.map((c) => (c.label === 'fish' ? { ...c, roc: undefined } : c)) };

/** Fixed inputs: [snapshot name, chart function, arguments]. */
const CASES = [
  ['cm-2-counts', 'confusionMatrixSvg', [['neg', 'pos'], [[5, 1], [2, 7]], { normalize: 'none' }]],
  ['cm-3-true-by-error', 'confusionMatrixSvg', [['cat', 'dog', 'a <very> long & "quoted" label'], [[4, 1, 0], [2, 2, 1], [0, 0, 0]], { normalize: 'true', sort: 'error' }]],
  ['cm-3-pred', 'confusionMatrixSvg', [['cat', 'dog', 'fish'], [[4, 1, 0], [2, 2, 1], [0, 3, 5]], { normalize: 'pred' }]],
  ['cm-3-all', 'confusionMatrixSvg', [['cat', 'dog', 'fish'], [[4, 1, 0], [2, 2, 1], [0, 3, 5]], { normalize: 'all' }]],
  [
    'bars-3',
    'perClassBarsSvg',
    [
      ['cat', 'dog', 'fish'],
      {
        cat: { precision: 0.6666666666666666, recall: 0.8, f1: 0.7272727272727273, support: 5 },
        dog: { precision: 0.3333333333333333, recall: 0.4, f1: 0.36363636363636365, support: 5 },
        fish: { precision: 0.8333333333333334, recall: 0.625, f1: 0.7142857142857143, support: 4 },
      },
    ],
  ],
  ['pr-3', 'prCurvesSvg', [CURVES, { classes: [0, 1, 2] }]],
  ['roc-3', 'rocCurvesSvg', [CURVES, { classes: [0, 1, 2] }]],
  ['roc-3-one-missing', 'rocCurvesSvg', [CURVES_NO_FISH_ROC, { classes: [0, 1, 2] }]],
  ['calibration-top-label', 'calibrationSvg', [CURVES.calibration, { ece: 0.0734 }]],
  ['calibration-binary', 'calibrationSvg', [{ of: 'positive_class', n_bins: 10, prob_true: [0, 0.5, 1], prob_pred: [0.1, 0.55, 0.9] }, { ece: 0.05, positiveLabel: 'pos' }]],
  ['loss-iterations', 'lossCurveSvg', [[310.9, 120.5, 80.25, 61.0, 60.5, 60.49], { unit: 'iteration' }]],
  ['loss-epochs', 'lossCurveSvg', [[2.3, 1.1, 0.7, 0.52, 0.41], { unit: 'epoch' }]],
  ['learning-curve', 'learningCurveSvg', [[{ shots: 1, mean: 0.41, std: 0.06 }, { shots: 2, mean: 0.55, std: 0.05 }, { shots: 4, mean: 0.68, std: 0.04 }, { shots: 8, mean: 0.79, std: 0.02 }, { shots: 16, mean: 0.86, std: 0.01 }]]],
  ['scatter-3', 'scatterSvg', [[-1.5, 0.2, -1.2, 0.4, 0.1, 1.3, 0.3, 1.1, 1.4, -0.9, 1.1, -1.2], [0, 0, 1, 1, 2, 2], ['cat', 'dog', 'fish'], { items: [10, 11, 12, 13, 14, 15], pred: [0, 1, 1, 1, 2, 2], explained: [0.52, 0.31] }]],
  ['scatter-3-tsne', 'scatterSvg', [[-1.5, 0.2, -1.2, 0.4, 0.1, 1.3, 0.3, 1.1, 1.4, -0.9, 1.1, -1.2], [0, 0, 1, 1, 2, 2], ['cat', 'dog', 'fish'], { items: [10, 11, 12, 13, 14, 15], pred: [0, 1, 1, 1, 2, 2], method: 'tsne', perplexity: 1.6666666666666667 }]],
  ['diff-3', 'diffMatrixSvg', [['cat', 'dog', 'fish'], [[4, 1, 0], [2, 2, 1], [0, 3, 5]], [[5, 0, 0], [1, 3, 1], [0, 4, 4]]]],
];

/** One element per line, every decimal number with 3 decimals. */
function normalise(svg) {
  return `${svg
    .replace(/-?\d+\.\d+(?:e[+-]?\d+)?/gi, (x) => Number(x).toFixed(3))
    .replace(/-0\.000/g, '0.000')
    .replaceAll('><', '>\n<')}\n`;
}

test('chart functions match their SVG snapshots', { timeout: TEST_TIMEOUT }, async () => {
  const { context, page } = await openPage('', { wait: null });
  try {
    const rendered = await page.evaluate(async (cases) => {
      const charts = await import('/www/charts.js');
      return cases.map(([name, fn, args]) => [name, charts[fn](...args).outerHTML]);
    }, CASES);
    if (UPDATE) mkdirSync(SNAPSHOTS, { recursive: true });
    const missing = [];
    for (const [name, svg] of rendered) {
      const file = path.join(SNAPSHOTS, `${name}.svg`);
      const actual = normalise(svg);
      if (UPDATE) {
        writeFileSync(file, actual);
        continue;
      }
      if (!existsSync(file)) {
        missing.push(name);
        continue;
      }
      assert.equal(actual, readFileSync(file, 'utf8'), `${name}.svg differs from its snapshot (UPDATE_SNAPSHOTS=1 rewrites it)`);
    }
    assert.deepEqual(missing, [], 'snapshots missing; run with UPDATE_SNAPSHOTS=1 to write them');
  } finally {
    await context.close();
  }
});

test('normalised snapshot values are scikit-learn’s', { timeout: TEST_TIMEOUT }, async () => {
  // confusion_matrix([...], normalize='pred') of the cm-3-pred case, from scikit-learn 1.9.1.
  const { context, page } = await openPage('', { wait: null });
  try {
    const values = await page.evaluate(async () => {
      const { normalizeMatrix } = await import('/www/charts.js');
      const m = [[4, 1, 0], [2, 2, 1], [0, 3, 5]];
      return { pred: normalizeMatrix(m, 'pred'), zeroRow: normalizeMatrix([[4, 1, 0], [2, 2, 1], [0, 0, 0]], 'true') };
    });
    const sklearnPred = [
      [0.6666666666666666, 0.16666666666666666, 0],
      [0.3333333333333333, 0.3333333333333333, 0.16666666666666666],
      [0, 0.5, 0.8333333333333334],
    ];
    assert.deepEqual(values.pred, sklearnPred);
    assert.deepEqual(values.zeroRow, [[0.8, 0.2, 0], [0.4, 0.4, 0.2], [0, 0, 0]]);
  } finally {
    await context.close();
  }
});

test('curve charts: ROC AUCs are scikit-learn’s, class picks, few-shot points, colour-blind palette', { timeout: TEST_TIMEOUT }, async () => {
  const { context, page } = await openPage('', { wait: null });
  try {
    const out = await page.evaluate(async ([curves]) => {
      const c = await import('/www/charts.js');
      const roc = c.rocCurvesSvg(curves, { classes: [0, 1, 2] });
      const per = Array.from({ length: 20 }, (_, i) => ({ label: `c${i}`, average_precision: ((i * 7) % 20) / 20 }));
      return {
        aucs: [...roc.querySelectorAll('path.series')].map((p) => Number(p.dataset.auc)),
        legend: [...roc.querySelectorAll('.legend text')].map((t) => t.textContent),
        pr: [...c.prCurvesSvg(curves, { classes: [2, 0] }).querySelectorAll('path.series')].map((p) => p.dataset.class),
        extremes: c.pickCurveClasses(per),
        worst: c.pickCurveClasses(per, { mode: 'worst', max: 3 }),
        best: c.pickCurveClasses(per, { mode: 'best', max: 3 }),
        one: c.pickCurveClasses(per, { mode: 'class:7' }),
        bad: c.pickCurveClasses(per, { mode: 'class:99' }),
        few: c.pickCurveClasses(per.slice(0, 5)),
        shots: c.fewShotPoints({ protocol: { name: 'few-shot', few_shot: [{ shots: 4, mean: 0.7, std: 0.1 }, { shots: 1, mean: 0.4, std: 0.2 }] } }),
        nested: c.fewShotPoints({ protocol: { name: 'x', curve: { points: [{ shots: 2, mean: 0.5, std: 0 }] } } }),
        none: c.fewShotPoints({ protocol: { name: 'holdout', seed: 0 } }),
        colors: [c.seriesColor(0, 8), c.seriesColor(7, 8), c.seriesColor(0, 9), c.seriesColor(8, 9)],
        loss: c.lossCurveSvg([3, 2, 1], { unit: 'epoch' }).querySelector('path.series').dataset.steps,
      };
    }, [CURVES]);
    // Trapezoidal area under the report's ROC points equals roc_auc_score (scikit-learn 1.9.1).
    out.aucs.forEach((auc, i) => assert.ok(Math.abs(auc - SKLEARN_AUC[i]) < 1e-12, `class ${i}: ${auc} vs ${SKLEARN_AUC[i]}`));
    assert.deepEqual(out.legend, ['cat (AUC 0.800)', 'dog (AUC 0.800)', 'fish (AUC 0.917)', 'chance (AUC 0.5)']);
    assert.deepEqual(out.pr, ['fish', 'cat']);
    // AP of class i is ((7 i) mod 20) / 20: lowest classes 0, 3, 6, 9 (AP 0, .05, .1, .15); highest 17, 14, 11, 8.
    assert.deepEqual(out.extremes, [0, 3, 6, 9, 17, 14, 11, 8]);
    assert.deepEqual(out.worst, [0, 3, 6]);
    assert.deepEqual(out.best, [17, 14, 11]);
    assert.deepEqual(out.one, [7]);
    assert.deepEqual(out.bad, []);
    assert.deepEqual(out.few, [0, 1, 2, 3, 4]);
    assert.deepEqual(out.shots, [{ shots: 4, mean: 0.7, std: 0.1 }, { shots: 1, mean: 0.4, std: 0.2 }]);
    assert.deepEqual(out.nested, [{ shots: 2, mean: 0.5, std: 0 }]);
    assert.equal(out.none, null);
    assert.deepEqual(out.colors.slice(0, 2), ['#0072B2', '#000000'], 'Okabe–Ito up to 8 series');
    assert.deepEqual(out.colors.slice(2), ['rgb(68, 1, 84)', 'rgb(253, 231, 37)'], 'viridis beyond 8');
    assert.equal(out.loss, '3');
  } finally {
    await context.close();
  }
});

const HOSTILE = 'fish <img src=x onerror=alert(1)> & "co"';

/**
 * The CLI's tiny report (make e2e-reports) with a class label full of markup, a nearest-centroid
 * probe (no loss curve) and the few-shot points the CLI's `eval --protocol few-shot --seed 0`
 * wrote for the demo (shots 1-16, 10 seeds each).
 */
function reportWithFewShot() {
  const r = readReport('tiny-report.json');
  const rename = (l) => (l === 'fish' ? HOSTILE : l);
  const m = r.metrics;
  return {
    ...r,
    probe: { kind: 'nearest_centroid' },
    protocol: {
      ...r.protocol,
      name: 'few_shot',
      few_shot: [
        { shots: 1, mean: 0.6930000000000001, std: 0.05975784467331463, seeds: 10 },
        { shots: 2, mean: 0.835, std: 0.0277488738510232, seeds: 10 },
        { shots: 4, mean: 0.8924999999999998, std: 0.02581181899828064, seeds: 10 },
        { shots: 8, mean: 0.9265000000000001, std: 0.016889345754054524, seeds: 10 },
        { shots: 16, mean: 0.937, std: 0.011445523142259556, seeds: 10 },
      ],
    },
    metrics: {
      ...m,
      per_class: Object.fromEntries(Object.entries(m.per_class).map(([k, v]) => [rename(k), v])),
      confusion_matrix: { ...m.confusion_matrix, labels: m.confusion_matrix.labels.map(rename) },
      curves: { ...m.curves, per_class: m.curves.per_class.map((c) => ({ ...c, label: rename(c.label) })) },
    },
  };
}

test('HTML report from reportCharts: few-shot curve when the protocol has one, hostile labels as text, no curve section without curves; renders with scripts off', { timeout: TEST_TIMEOUT }, async () => {
  const { context, page } = await openPage('', { wait: null });
  const base = reportWithFewShot();
  try {
    const html = await page.evaluate(async ([report]) => {
      const h = await import('/www/htmlreport.js');
      const withCurves = h.htmlReport(report, { charts: h.reportCharts(report), generated: 'test' });
      const { curves, ...metrics } = report.metrics;
      const plain = { ...report, metrics, protocol: { name: 'holdout', seed: 0 }, probe: { kind: 'knn_vote', k: 3 } };
      return { withCurves, plain: h.htmlReport(plain, { charts: h.reportCharts(plain), generated: 'test' }) };
    }, [base]);
    const offline = await context.browser().newContext({ javaScriptEnabled: false, offline: true });
    try {
      const view = await offline.newPage();
      await view.setContent(html.withCurves);
      // The few-shot points of the report's protocol, one dot each, mean ± std as in the report.
      const dots = await view.$$eval('svg.learning-curve circle.point', (cs) => cs.map((c) => [Number(c.dataset.shots), Number(c.dataset.mean), Number(c.dataset.std)]));
      assert.deepEqual(dots, base.protocol.few_shot.map((p) => [p.shots, p.mean, p.std]));
      assert.equal(await view.locator('svg.pr-curves path.series').count(), base.metrics.curves.per_class.length);
      assert.equal(await view.locator('svg.roc-curves path.series').count(), base.metrics.curves.per_class.filter((c) => c.roc).length);
      assert.equal(await view.locator('svg.calibration').count(), 1);
      assert.equal(await view.locator('svg.loss-curve').count(), 0, 'no loss curve: the probe has no loss values');
      assert.equal(await view.locator('svg.embedding-scatter').count(), 0, 'no map without the page’s embeddings');
      // A class label with markup stays text, in the charts' legends and everywhere else.
      const hostile = base.metrics.confusion_matrix.labels.find((l) => l.includes('<'));
      assert.ok(hostile);
      assert.equal(await view.locator('img, script, iframe').count(), 0);
      assert.ok((await view.locator('svg.pr-curves .legend text').allTextContents()).some((t) => t.startsWith(hostile.slice(0, 10))));
      assert.ok(await view.locator('svg.learning-curve').isVisible());

      await view.setContent(html.plain);
      assert.equal(await view.locator('h2', { hasText: 'Curves' }).count(), 0);
      assert.equal(await view.locator('svg.learning-curve, svg.pr-curves, svg.roc-curves, svg.calibration').count(), 0);
      assert.equal(await view.locator('svg.confusion-matrix').count(), 1);
    } finally {
      await offline.close();
    }
  } finally {
    await context.close();
  }
});

test('HTML report names the embedding map by its projection: PCA or t-SNE, as drawn on the page', { timeout: TEST_TIMEOUT }, async () => {
  const { context, page } = await openPage('', { wait: null });
  const base = reportWithFewShot();
  try {
    const heads = await page.evaluate(async ([report]) => {
      const c = await import('/www/charts.js');
      const h = await import('/www/htmlreport.js');
      const coords = [-1.5, 0.2, -1.2, 0.4, 0.1, 1.3, 0.3, 1.1];
      const out = {};
      for (const method of ['pca', 'tsne']) {
        const scatter = c.scatterSvg(coords, [0, 0, 1, 1], ['a', 'b'], { method, perplexity: 1 });
        const html = h.htmlReport(report, { charts: h.reportCharts(report, { scatter }), generated: 'test' });
        const doc = new DOMParser().parseFromString(html, 'text/html');
        out[method] = {
          heads: [...doc.querySelectorAll('h2')].map((e) => e.textContent).filter((t) => t.startsWith('Embedding map')),
          label: doc.querySelector('svg.embedding-scatter')?.getAttribute('aria-label'),
        };
      }
      return out;
    }, [base]);
    assert.deepEqual(heads.pca.heads, ['Embedding map (PCA)']);
    assert.deepEqual(heads.tsne.heads, ['Embedding map (t-SNE)']);
    assert.match(heads.pca.label, /^PCA of the 4 test embeddings/);
    assert.match(heads.tsne.label, /^t-SNE \(perplexity 1\) of the 4 test embeddings/);
  } finally {
    await context.close();
  }
});

test('share fragments degrade in steps: exact, curves rounded to 6 digits, without curves, without predictions; links name what they left out', { timeout: TEST_TIMEOUT }, async () => {
  const { context, page } = await openPage('', { wait: null });
  const base = reportWithFewShot();
  try {
    const out = await page.evaluate(async ([report]) => {
      const s = await import('/www/share.js');
      let seed = 3;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const noise = (n) => Array.from({ length: n }, rand);
      // Noise curve points (they do not compress): 5,000 of them fit a link only at 6 digits; 36,000 not at all.
      const mid = { ...report, metrics: { ...report.metrics, curves: { ...report.metrics.curves, per_class: report.metrics.curves.per_class.map((c) => ({ ...c, pr: { precision: noise(560), recall: noise(560), thresholds: noise(559) } })) } } };
      const huge = { ...mid, metrics: { ...mid.metrics, curves: { ...mid.metrics.curves, per_class: mid.metrics.curves.per_class.map((c) => ({ ...c, pr: { precision: noise(4000), recall: noise(4000), thresholds: noise(3999) } })) } } };
      const n = 40_000;
      const hugePredictions = { ...huge, predictions: { test_index: noise(n).map((x) => Math.floor(x * 1e9)), y_true: noise(n).map((x) => Math.floor(x * 3)), y_pred: noise(n).map((x) => Math.floor(x * 3)), confidence: noise(n) } };
      const result = {};
      for (const [name, r] of Object.entries({ small: report, mid, huge, hugePredictions })) {
        const f = await s.reportFragment(r);
        const back = f.fragment ? JSON.parse(await s.reportFromHash(`#${f.fragment}`)) : null;
        result[name] = {
          length: f.fragment?.length ?? null,
          dropped: f.dropped,
          rounded: f.rounded,
          fromHash: f.fragment ? s.droppedFromHash(`#${f.fragment}`) : null,
          text: s.droppedText(f.dropped),
          exact: back ? JSON.stringify(back) === JSON.stringify(r) : null,
          curvesBack: back?.metrics?.curves ?? null,
          curvesIn: r.metrics.curves,
          predictionsBack: back?.predictions?.test_index?.length ?? null,
        };
      }
      result.oldLink = s.droppedFromHash('#report=abc');
      result.unknown = s.droppedFromHash('#report=abc&dropped=curves,bogus');
      return result;
    }, [base]);
    const limit = 32_000;
    assert.deepEqual([out.small.dropped, out.small.rounded, out.small.exact, out.small.fromHash], [[], false, true, []]);
    assert.equal(out.small.text, '');
    assert.deepEqual([out.mid.dropped, out.mid.rounded, out.mid.exact], [[], true, false]);
    assert.ok(out.mid.length <= limit);
    // Rounded to 6 significant digits: every point within 5e-6 relative of the exact one.
    out.mid.curvesIn.per_class.forEach((c, i) => {
      c.pr.precision.forEach((v, j) => {
        const w = out.mid.curvesBack.per_class[i].pr.precision[j];
        assert.ok(Math.abs(w - v) <= 5e-6 * Math.abs(v), `${v} -> ${w}`);
      });
    });
    assert.deepEqual([out.huge.dropped, out.huge.curvesBack, out.huge.fromHash], [['curves'], null, ['curves']]);
    assert.equal(out.huge.predictionsBack, base.predictions.test_index.length);
    assert.match(out.huge.text, /^To fit the link, the PR, ROC and calibration curve points were left out: it shows no PR, ROC or calibration charts\./);
    assert.deepEqual([out.hugePredictions.dropped, out.hugePredictions.predictionsBack, out.hugePredictions.fromHash], [['curves', 'predictions'], 0, ['curves', 'predictions']]);
    assert.match(out.hugePredictions.text, /curve points and the per-sample predictions were left out: it shows no PR, ROC or calibration charts and no sample gallery and no embedding map/);
    for (const k of ['small', 'mid', 'huge', 'hugePredictions']) assert.ok(out[k].length <= limit, `${k}: ${out[k].length}`);
    assert.deepEqual(out.oldLink, [], 'links made before `&dropped=` still open');
    assert.deepEqual(out.unknown, ['curves']);
  } finally {
    await context.close();
  }
});
