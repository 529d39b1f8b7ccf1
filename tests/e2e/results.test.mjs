// Browser tests of the results view: confusion-matrix normalisation, gallery, exports,
// report files, share links and classroom links. Expected values come from the CLI's
// reference reports (target/e2e, `make e2e-reports`).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  REPORTS_DIR,
  TEST_TIMEOUT,
  assertMatchesReport,
  dataValue,
  errorText,
  openPage,
  readMatrix,
  readReport,
  server,
  useBrowser,
  waitForState,
} from './helpers.mjs';

useBrowser();

/** scikit-learn's confusion_matrix(normalize=mode), with 0 where it divides by zero. */
function normalized(matrix, mode) {
  const n = matrix.length;
  const rows = matrix.map((r) => r.reduce((a, b) => a + b, 0));
  const cols = Array.from({ length: n }, (_, j) => matrix.reduce((a, r) => a + r[j], 0));
  const total = rows.reduce((a, b) => a + b, 0);
  return matrix.map((r, i) =>
    r.map((v, j) => {
      const d = { none: 1, true: rows[i], pred: cols[j], all: total }[mode];
      return d > 0 ? v / d : 0;
    }),
  );
}

/** The cells as {row, col, count, value, pos}. */
async function readCells(page) {
  return page.$$eval('[data-testid="confusion-matrix"] .cell', (els) =>
    els.map((e) => ({
      row: Number(e.dataset.row),
      col: Number(e.dataset.col),
      count: Number(e.dataset.count),
      value: Number(e.dataset.value),
      pos: e.dataset.pos,
    })),
  );
}

/** Every metric tile's data-value, keyed by test id. */
async function metricValues(page) {
  return page.$$eval('#metrics [data-testid^="metric-"]', (els) => Object.fromEntries(els.map((e) => [e.dataset.testid, e.dataset.value])));
}

async function perClassRows(page) {
  return page.$$eval('[data-testid="per-class-table"] tbody tr', (trs) =>
    trs.map((tr) => [tr.dataset.class, ...[...tr.querySelectorAll('td')].map((td) => td.dataset.value)]),
  );
}

/** Everything the results view shows that a reopened report must reproduce. */
async function viewSnapshot(page) {
  return { metrics: await metricValues(page), matrix: await readMatrix(page), perClass: await perClassRows(page) };
}

async function download(page, testid, locator = page.getByTestId(testid)) {
  const [dl] = await Promise.all([page.waitForEvent('download'), locator.click()]);
  return { name: dl.suggestedFilename(), bytes: readFileSync(await dl.path()) };
}

/** Test samples of cell (row, col) according to a report's predictions. */
function cellSamples(report, row, col) {
  const p = report.predictions;
  return p.test_index.filter((_, k) => p.y_true[k] === row && p.y_pred[k] === col).sort((a, b) => a - b);
}

async function gallerySamples(page) {
  return page.$$eval('[data-testid="sample-gallery"] [data-sample]', (els) => els.map((e) => Number(e.dataset.sample)).sort((a, b) => a - b));
}

describe('results of the demo run', () => {
  const report = readReport('demo-report.json');
  let ctx;

  before(async () => {
    ctx = await openPage();
    await ctx.page.getByTestId('run-demo').click();
    await waitForState(ctx.page, ['results']);
  });
  after(async () => {
    await ctx?.context.close();
  });

  test('every normalisation shows scikit-learn values, in both orders, and exports them as CSV', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = ctx;
    const matrix = report.metrics.confusion_matrix.matrix;
    const labels = report.metrics.confusion_matrix.labels;
    for (const sort of ['class', 'error']) {
      await page.getByTestId('cm-sort').selectOption(sort);
      for (const mode of ['none', 'true', 'pred', 'all']) {
        await page.getByTestId('cm-normalize').selectOption(mode);
        const cells = await readCells(page);
        assert.equal(cells.length, matrix.length ** 2);
        const expected = normalized(matrix, mode);
        for (const c of cells) {
          assert.equal(c.count, matrix[c.row][c.col], `count of (${c.row}, ${c.col})`);
          assert.equal(c.value, expected[c.row][c.col], `${mode} value of (${c.row}, ${c.col})`);
        }
        if (mode === 'true' || mode === 'pred') {
          for (let k = 0; k < matrix.length; k++) {
            const line = cells.filter((c) => (mode === 'true' ? c.row : c.col) === k).reduce((a, c) => a + c.value, 0);
            assert.ok(Math.abs(line - 1) < 1e-12, `${mode}: line ${k} sums to ${line}`);
          }
        }
      }
      if (sort === 'error') {
        const recall = (i) => matrix[i][i] / matrix[i].reduce((a, b) => a + b, 0);
        const first = (await readCells(page)).find((c) => c.pos === '0,0').row;
        assert.equal(recall(first), Math.min(...matrix.map((_, i) => recall(i))), 'error order starts with the lowest recall');
      }
    }
    await page.getByTestId('cm-sort').selectOption('class');
    await page.getByTestId('cm-normalize').selectOption('true');
    const csv = await download(page, 'export-cm-csv');
    assert.equal(csv.name, 'downstream-confusion-matrix-true.csv');
    const rows = csv.bytes.toString('utf8').trim().split('\r\n').map((l) => l.split(','));
    assert.deepEqual(rows[0].slice(1), labels);
    const expected = normalized(matrix, 'true');
    rows.slice(1).forEach((r, i) => {
      assert.equal(r[0], labels[i]);
      assert.deepEqual(r.slice(1).map(Number), expected[i]);
    });
    await page.getByTestId('cm-normalize').selectOption('none');
  });

  test('a clicked or keyboard-activated cell lists exactly its test samples with thumbnails', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = ctx;
    const matrix = report.metrics.confusion_matrix.matrix;
    let off = null;
    matrix.forEach((r, i) => r.forEach((v, j) => { if (!off && i !== j && v > 0) off = [i, j]; }));
    assert.ok(off, 'the demo report has a non-zero off-diagonal cell');
    const gallery = page.getByTestId('sample-gallery');

    const check = async ([row, col]) => {
      const cell = page.locator(`[data-testid="confusion-matrix"] .cell[data-row="${row}"][data-col="${col}"]`);
      const count = Number(await cell.getAttribute('data-count'));
      assert.equal(count, matrix[row][col]);
      await gallery.waitFor({ state: 'visible' });
      assert.deepEqual(await gallerySamples(page), cellSamples(report, row, col));
      assert.equal((await gallerySamples(page)).length, count);
      await page.waitForFunction(
        (n) => [...document.querySelectorAll('[data-testid="sample-gallery"] [data-sample] img')].filter((i) => i.complete && i.naturalWidth > 0).length === n,
        count,
        { timeout: 30_000 },
      );
      const paths = await gallery.locator('.sample-path').allTextContents();
      const label = report.metrics.confusion_matrix.labels[row];
      assert.ok(paths.every((p) => p.startsWith(`${label}/`)), `paths are in the true class folder: ${paths.join(', ')}`);
      const conf = await gallery.locator('.sample-confidence').evaluateAll((els) => els.map((e) => Number(e.dataset.value)));
      assert.ok(conf.every((c) => c > 0 && c <= 1), 'confidences are probabilities');
    };

    await page.locator(`[data-testid="confusion-matrix"] .cell[data-row="${off[0]}"][data-col="${off[1]}"]`).click();
    await check(off);

    // Keyboard: the focused cell moves with the arrow keys and Enter opens it.
    await page.locator('[data-testid="confusion-matrix"] .cell[data-pos="0,0"]').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.pos), '1,1');
    await page.keyboard.press('Enter');
    await check([1, 1]);
    await page.keyboard.press('Escape');
    assert.equal(await gallery.isVisible(), false, 'Escape closes the gallery');
  });

  test('charts export as SVG and PNG', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = ctx;
    const charts = ['confusion-matrix', 'per-class-chart', 'pr-curves', 'roc-curves', 'calibration-chart', 'embedding-scatter'];
    if (await page.getByTestId('loss-chart').isVisible()) charts.push('loss-chart');
    for (const chart of charts) {
      const tools = page.locator(`.chart-tools[data-chart="${chart}"]`);
      const svg = await download(page, null, tools.getByTestId('export-svg'));
      assert.equal(svg.name, `downstream-${chart}.svg`);
      const text = svg.bytes.toString('utf8');
      assert.match(text, /^<\?xml[^>]*>\s*<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.ok(!text.includes('<script'));
      const width = Number(/<svg[^>]* width="(\d+)"/.exec(text)[1]);
      const png = await download(page, null, tools.getByTestId('export-png'));
      assert.equal(png.name, `downstream-${chart}.png`);
      assert.deepEqual([...png.bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
      assert.equal(png.bytes.readUInt32BE(16), width * 2, 'PNG is the SVG at 2x');
    }
    assert.deepEqual(ctx.problems, []);
  });

  test('PR, ROC and calibration curves of the report: AUCs average to the CLI’s ROC AUC, class choice redraws', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = ctx;
    const curves = page.getByTestId('curves');
    assert.ok(await curves.isVisible(), 'the curves block is shown for a report with curve points');
    await page.getByTestId('curve-classes').selectOption('all');
    const aucs = await page.$$eval('[data-testid="roc-curves"] path.series', (ps) => ps.map((p) => Number(p.dataset.auc)));
    const labels = report.metrics.confusion_matrix.labels;
    assert.equal(aucs.length, labels.length);
    // roc_auc_score(multi_class='ovr', average='macro') is the mean of the one-vs-rest AUCs.
    const mean = aucs.reduce((a, b) => a + b, 0) / aucs.length;
    assert.ok(Math.abs(mean - report.metrics.roc_auc_ovr_macro) < 1e-3, `mean AUC ${mean} vs ${report.metrics.roc_auc_ovr_macro}`);
    const aps = await page.$$eval('[data-testid="pr-curves"] path.series', (ps) => ps.map((p) => Number(p.dataset.ap)));
    assert.ok(Math.abs(aps.reduce((a, b) => a + b, 0) / aps.length - report.metrics.average_precision) < 1e-3);
    const bins = await page.locator('[data-testid="calibration-chart"] circle.bin').count();
    assert.equal(bins, report.metrics.curves.calibration.prob_true.length);
    assert.match(await page.getByTestId('calibration-chart').textContent(), new RegExp(`ECE ${report.metrics.ece.toFixed(3).slice(0, 4)}`));
    await page.getByTestId('curve-classes').selectOption('class:3');
    assert.deepEqual(await page.$$eval('[data-testid="roc-curves"] path.series', (ps) => ps.map((p) => p.dataset.class)), [labels[3]]);
    if (report.probe.loss_per_iteration) {
      assert.ok(await page.getByTestId('loss-chart').isVisible(), 'logistic regression shows its loss per iteration');
      const steps = Number(await page.locator('[data-testid="loss-chart"] path.series').getAttribute('data-steps'));
      // The page's own fit (wasm kernels differ from the CLI's in the last bits, so its
      // iteration count can too): one loss per iteration it reports.
      const iterations = Number(/(\d+)\/\d+ iterations/.exec(await page.locator('#run-info').textContent())[1]);
      assert.equal(steps, iterations);
    }
    assert.deepEqual(ctx.problems, []);
  });

  test('the PCA map has one dot per test image, coloured by class; a click and a box open exactly those samples', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = ctx;
    const dots = page.locator('[data-testid="embedding-scatter"] circle.point');
    await dots.first().waitFor({ timeout: 60_000 });
    const points = await dots.evaluateAll((els) => els.map((e) => ({ i: Number(e.dataset.i), item: Number(e.dataset.item), cls: Number(e.dataset.class), fill: e.getAttribute('fill'), cx: Number(e.getAttribute('cx')), cy: Number(e.getAttribute('cy')) })));
    const p = report.predictions;
    assert.equal(points.length, p.test_index.length);
    assert.deepEqual(points.map((q) => q.item).sort((a, b) => a - b), [...p.test_index].sort((a, b) => a - b));
    const fillOf = new Map();
    for (const q of points) {
      assert.equal(q.cls, p.y_true[p.test_index.indexOf(q.item)], 'coloured by the true class');
      if (!fillOf.has(q.cls)) fillOf.set(q.cls, q.fill);
      assert.equal(fillOf.get(q.cls), q.fill, 'one colour per class');
    }
    assert.equal(new Set(fillOf.values()).size, report.metrics.confusion_matrix.labels.length);
    assert.match(await page.getByTestId('embedding-scatter').textContent(), /PC 1 \(\d+\.\d % of variance\)/);

    const target = points[17];
    await page.locator(`[data-testid="embedding-scatter"] circle.point[data-i="${target.i}"]`).click({ force: true });
    await page.getByTestId('sample-gallery').waitFor({ state: 'visible' });
    assert.deepEqual(await gallerySamples(page), [target.item]);

    // A box around the densest quarter of the map: the gallery lists exactly the dots inside.
    const svg = page.locator('[data-testid="embedding-scatter"] svg');
    const [vw, vh] = (await svg.getAttribute('viewBox')).split(' ').slice(2).map(Number);
    const xs = points.map((q) => q.cx).sort((a, b) => a - b);
    const ys = points.map((q) => q.cy).sort((a, b) => a - b);
    const [x0, x1] = [xs[Math.floor(xs.length * 0.25)], xs[Math.floor(xs.length * 0.75)]];
    const [y0, y1] = [ys[Math.floor(ys.length * 0.25)], ys[Math.floor(ys.length * 0.75)]];
    const inside = points.filter((q) => q.cx >= x0 && q.cx <= x1 && q.cy >= y0 && q.cy <= y1).map((q) => q.item).sort((a, b) => a - b);
    assert.ok(inside.length > 1);
    await page.getByTestId('embedding-scatter').scrollIntoViewIfNeeded();
    const b2 = await svg.boundingBox();
    const start = [b2.x + (x0 / vw) * b2.width - 0.3, b2.y + (y0 / vh) * b2.height - 0.3];
    const end = [b2.x + (x1 / vw) * b2.width + 0.3, b2.y + (y1 / vh) * b2.height + 0.3];
    await page.mouse.move(...start);
    await page.mouse.down();
    await page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2);
    await page.mouse.move(...end);
    await page.mouse.up();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="sample-gallery"] [data-sample]').length === n, inside.length);
    assert.deepEqual(await gallerySamples(page), inside);
    assert.deepEqual(ctx.problems, []);
  });

  test('the HTML report is static, self-contained and shows the scores offline', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = ctx;
    const html = await download(page, 'download-html');
    assert.equal(html.name, 'downstream-report.html');
    const text = html.bytes.toString('utf8');
    assert.ok(!/<script/i.test(text), 'no scripts');
    assert.ok(!/\b(src|href)=/i.test(text), 'no external resources');
    assert.ok(text.includes(report.metrics.accuracy.toFixed(4)), 'accuracy is in the text');
    assert.ok(text.includes('<svg'), 'charts are inline SVG');

    const offline = await ctx.context.browser().newContext({ javaScriptEnabled: false, offline: true });
    try {
      const view = await offline.newPage();
      const requests = [];
      view.on('request', (r) => requests.push(r.url()));
      await view.setContent(text);
      const tile = view.locator('.metric[data-metric="accuracy"] .value');
      assert.equal(await tile.textContent(), report.metrics.accuracy.toFixed(4));
      assert.ok(await tile.isVisible());
      const labels = report.metrics.confusion_matrix.labels;
      assert.equal(await view.locator('svg.confusion-matrix .cell').count(), labels.length ** 2);
      // The new charts, drawn from the report: the same curves as the page's (its class pick
      // for 10 classes: 4 lowest and 4 highest AP), calibration bins, the page's own loss curve.
      const curves = report.metrics.curves;
      const shownOnPage = Math.min(8, labels.length);
      for (const [cls, attr] of [['pr-curves', 'ap'], ['roc-curves', 'auc']]) {
        const series = await view.$$eval(`svg.${cls} path.series`, (ps, a) => ps.map((p) => [p.dataset.class, Number(p.dataset[a])]), attr);
        assert.equal(series.length, shownOnPage, `${cls}: ${series.length} curves`);
        for (const [label, v] of series) {
          const c = curves.per_class.find((q) => q.label === label);
          const expected = attr === 'ap' ? c.average_precision : null;
          assert.ok(Number.isFinite(v) && v > 0.5 && v <= 1 + 1e-12, `${cls} ${label}: ${v}`);
          if (expected !== null) assert.ok(Math.abs(v - expected) < 1e-3, `${cls} ${label}: AP ${v} vs the CLI's ${expected}`);
        }
      }
      assert.equal(await view.locator('svg.calibration circle.bin').count(), curves.calibration.prob_true.length);
      assert.equal(await view.locator('svg.loss-curve path.series').count(), 1, 'the logistic-regression probe has a loss curve');
      assert.equal(
        await view.locator('svg.loss-curve path.series').getAttribute('data-steps'),
        await page.locator('[data-testid="loss-chart"] path.series').getAttribute('data-steps'),
      );
      assert.equal(await view.locator('svg.learning-curve').count(), 0, 'no few-shot curve for a hold-out run');
      // The embedding map the page drew (it needs the embeddings, which the report does not carry).
      assert.equal(await view.locator('svg.embedding-scatter circle.point').count(), report.predictions.test_index.length);
      for (const cls of ['pr-curves', 'roc-curves', 'calibration', 'loss-curve', 'embedding-scatter']) {
        assert.ok(await view.locator(`svg.${cls}`).isVisible(), `${cls} is rendered without scripts`);
      }
      assert.equal(await view.locator('svg [tabindex]').count(), 0, 'nothing in the static charts takes focus');
      assert.deepEqual(requests.filter((u) => !u.startsWith('about:') && !u.startsWith('data:')), [], 'the file makes no requests');
    } finally {
      await offline.close();
    }
  });

  test('a share link reopens the same results in a new page, without a server round trip', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = ctx;
    const before = await viewSnapshot(page);
    await page.getByTestId('share-link').click();
    const url = page.getByTestId('share-url');
    await page.waitForFunction(() => document.querySelector('[data-testid="share-url"]').value.length > 0);
    const link = await url.inputValue();
    assert.ok(link.startsWith(`${server.url}#report=`), link.slice(0, 80));
    assert.ok(link.length - server.url.length <= 32_001);
    assert.equal(await page.getByTestId('share-note').isVisible(), false, 'nothing was dropped');
    assert.ok(!link.includes('&dropped='), 'the link keeps curves and predictions');

    const other = await openPage(link.slice(server.url.length), { wait: ['results'] });
    try {
      assert.deepEqual(await viewSnapshot(other.page), before);
      // The curves came with the link: the same PR/ROC/calibration charts as on this page
      // (the link may round curve points to 6 significant digits; the legends show 3).
      await other.page.getByTestId('curve-classes').selectOption('all');
      await page.getByTestId('curve-classes').selectOption('all');
      assert.ok(await other.page.getByTestId('curves').isVisible(), 'the curves block is shown from the link');
      const legends = async (p) => p.$$eval('[data-testid="curves"] .legend text', (ts) => ts.map((t) => t.textContent));
      assert.deepEqual(await legends(other.page), await legends(page));
      const series = await other.page.$$eval('[data-testid="roc-curves"] path.series', (ps) => ps.map((p) => Number(p.dataset.auc)));
      assert.equal(series.length, report.metrics.confusion_matrix.labels.length);
      const mean = series.reduce((a, b) => a + b, 0) / series.length;
      assert.ok(Math.abs(mean - report.metrics.roc_auc_ovr_macro) < 1e-3, `mean AUC from the link ${mean}`);
      assert.equal(
        await other.page.locator('[data-testid="calibration-chart"] circle.bin').count(),
        report.metrics.curves.calibration.prob_true.length,
      );
      assert.doesNotMatch(await other.page.getByTestId('report-source').textContent(), /left out/);
      await assertMatchesReport(other.page, JSON.parse(readFileSync(path.join(REPORTS_DIR, 'demo-report.json'), 'utf8')));
      assert.match(await other.page.getByTestId('report-source').textContent(), /share link/);
      assert.ok(other.requests.every((u) => !u.includes('report=')), 'the report never goes into a request');
      // The gallery works from the link's predictions (no thumbnails: no data loaded there).
      await other.page.locator('[data-testid="confusion-matrix"] .cell[data-row="2"][data-col="2"]').click();
      assert.deepEqual(await gallerySamples(other.page), cellSamples(report, 2, 2));
      assert.match(await other.page.getByTestId('gallery-note').textContent(), /data set/);
      assert.deepEqual(other.problems, []);
    } finally {
      await other.context.close();
    }
  });

  test('a downloaded report opens in a fresh page with no model as the same view', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = ctx;
    const before = await viewSnapshot(page);
    const json = await download(page, 'download-report');
    const fresh = await openPage();
    try {
      await fresh.page.getByTestId('report-input').setInputFiles({ name: 'downloaded.json', mimeType: 'application/json', buffer: json.bytes });
      await waitForState(fresh.page, ['results']);
      assert.deepEqual(await viewSnapshot(fresh.page), before);
      assert.match(await fresh.page.locator('#model-info').textContent(), /No model loaded/);
      assert.match(await fresh.page.getByTestId('report-source').textContent(), /downloaded\.json/);
      assert.deepEqual(fresh.problems, []);
    } finally {
      await fresh.context.close();
    }
  });
});

/** Drops a file on the page the way a browser does (a DataTransfer with a File). */
async function dropFile(page, name, text) {
  const dt = await page.evaluateHandle(([n, t]) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([t], n, { type: 'application/json' }));
    return transfer;
  }, [name, text]);
  await page.dispatchEvent('body', 'dragover', { dataTransfer: dt });
  await page.dispatchEvent('body', 'drop', { dataTransfer: dt });
}

describe('report files', () => {
  test('dropped reports open; a malformed one shows why and keeps the view', { timeout: TEST_TIMEOUT }, async () => {
    const report = readReport('tiny-report.json');
    const text = readFileSync(path.join(REPORTS_DIR, 'tiny-report.json'), 'utf8');
    const { context, page } = await openPage();
    try {
      await dropFile(page, 'tiny-report.json', text);
      await waitForState(page, ['results']);
      await assertMatchesReport(page, report);
      assert.ok(await page.getByTestId('support-warning').isVisible(), 'classes with 2 test samples are flagged');
      assert.match(await page.getByTestId('support-warning').textContent(), /fewer than 5/);

      const bad = [
        ['broken.json', '{"schema": "downstream-report", "version": 1', /not JSON/],
        ['other.json', '{"hello": "world"}', /schema/],
        ['future.json', text.replace('"version": 1', '"version": 99'), /version 99/],
      ];
      for (const [name, body, why] of bad) {
        await page.getByTestId('report-input').setInputFiles({ name, mimeType: 'application/json', buffer: Buffer.from(body) });
        await page.waitForFunction(() => document.body.className === 'error');
        const message = await errorText(page);
        assert.match(message, /not a readable Downstream report/);
        assert.match(message, why);
        assert.ok(message.includes(name), `the error names the file: ${message}`);
        assert.ok(await page.getByTestId('metric-accuracy').isVisible(), 'the previous results stay');
        assert.equal(await dataValue(page, 'metric-accuracy'), String(report.metrics.accuracy));
      }
      await dropFile(page, 'dropped-bad.json', 'not json at all');
      await page.waitForFunction(() => document.getElementById('error').textContent.includes('dropped-bad.json'));
      assert.equal(await page.evaluate(() => document.body.className), 'error');
    } finally {
      await context.close();
    }
  });

  test('a report whose curves do not fit a link: the link drops the curves first, keeps the predictions, and both pages say so', { timeout: TEST_TIMEOUT }, async () => {
    const report = readReport('demo-report.json');
    // Curve points that do not compress (seeded noise), far beyond 32,000 characters even at
    // 6 significant digits; the rest of the demo report fits.
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const noisy = (n) => Array.from({ length: n }, rand).sort((a, b) => b - a);
    const curves = {
      ...report.metrics.curves,
      per_class: report.metrics.curves.per_class.map((c) => ({ ...c, pr: { precision: noisy(800), recall: noisy(800), thresholds: noisy(799) } })),
    };
    const big = { ...report, metrics: { ...report.metrics, curves } };
    const { context, page, problems } = await openPage();
    try {
      await page.getByTestId('report-input').setInputFiles({ name: 'big-curves.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(big)) });
      await waitForState(page, ['results']);
      assert.ok(await page.getByTestId('curves').isVisible());
      await page.getByTestId('share-link').click();
      await page.getByTestId('share-note').waitFor({ state: 'visible' });
      const note = await page.getByTestId('share-note').textContent();
      assert.match(note, /the PR, ROC and calibration curve points were left out/);
      assert.doesNotMatch(note, /predictions/);
      assert.equal(await page.getByTestId('share-note').getAttribute('data-dropped'), 'curves');
      const link = await page.getByTestId('share-url').inputValue();
      assert.ok(link.length - `${server.url}#`.length <= 32_000, `fragment is ${link.length} characters`);
      assert.ok(link.endsWith('&dropped=curves'), link.slice(-40));

      const other = await openPage(link.slice(server.url.length), { wait: ['results'] });
      try {
        assert.deepEqual(await readMatrix(other.page), report.metrics.confusion_matrix.matrix);
        assert.equal(await other.page.getByTestId('curves').isVisible(), false, 'no curves in the link');
        assert.match(await other.page.getByTestId('report-source').textContent(), /curve points were left out: it shows no PR, ROC or calibration charts/);
        // The predictions came with the link: the gallery lists the cell's samples.
        await other.page.locator('[data-testid="confusion-matrix"] .cell[data-row="2"][data-col="2"]').click();
        assert.deepEqual(await gallerySamples(other.page), cellSamples(report, 2, 2));
        assert.deepEqual(other.problems, []);
      } finally {
        await other.context.close();
      }
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('a 100-class report: scrollable matrix, link without predictions, gallery says why it is empty', { timeout: TEST_TIMEOUT }, async () => {
    const big = syntheticReport(100, 60);
    const { context, page, problems } = await openPage();
    try {
      await page.getByTestId('report-input').setInputFiles({ name: 'big.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(big)) });
      await waitForState(page, ['results']);
      assert.equal(await page.locator('[data-testid="confusion-matrix"] .cell').count(), 100 * 100);
      assert.deepEqual(await readMatrix(page), big.metrics.confusion_matrix.matrix);
      const scrolls = await page.getByTestId('confusion-matrix').evaluate((e) => e.scrollWidth > e.clientWidth);
      assert.ok(scrolls, 'a 100-class matrix scrolls instead of shrinking');

      await page.getByTestId('share-link').click();
      await page.getByTestId('share-note').waitFor({ state: 'visible' });
      assert.match(await page.getByTestId('share-note').textContent(), /curve points and the per-sample predictions were left out/);
      assert.equal(await page.getByTestId('share-note').getAttribute('data-dropped'), 'curves,predictions');
      const link = await page.getByTestId('share-url').inputValue();
      assert.ok(link.length - `${server.url}#`.length <= 32_000, `fragment is ${link.length} characters`);

      const other = await openPage(link.slice(server.url.length), { wait: ['results'] });
      try {
        assert.match(await other.page.getByTestId('report-source').textContent(), /per-sample predictions were left out/);
        assert.equal(await other.page.getByTestId('curves').isVisible(), false, 'no curves came with the link');
        assert.deepEqual(await readMatrix(other.page), big.metrics.confusion_matrix.matrix);
        await other.page.locator('[data-testid="confusion-matrix"] .cell[data-row="0"][data-col="0"]').click();
        assert.match(await other.page.getByTestId('gallery-note').textContent(), /gallery is unavailable/);
        assert.equal(await other.page.locator('[data-testid="sample-gallery"] [data-sample]').count(), 0);
      } finally {
        await other.context.close();
      }
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

describe('a 100-class confusion matrix', () => {
  test('stays readable: cells and labels keep their size, labels are rotated, zoom by buttons and keys, fit', { timeout: TEST_TIMEOUT }, async () => {
    const big = syntheticReport(100, 20);
    const { context, page, problems } = await openPage('', { viewport: { width: 1280, height: 900 } });
    try {
      await page.getByTestId('report-input').setInputFiles({ name: 'big.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(big)) });
      await waitForState(page, ['results']);
      const measure = () =>
        page.evaluate(() => {
          const box = document.querySelector('[data-testid="confusion-matrix"]');
          const rect = box.querySelector('.cell rect').getBoundingClientRect();
          const rowLabel = box.querySelector('.row-labels text').getBoundingClientRect();
          const colLabel = box.querySelector('.col-labels text');
          return {
            cell: rect.width,
            rowLabelHeight: rowLabel.height,
            colTransform: colLabel.getAttribute('transform'),
            scrolls: box.scrollWidth > box.clientWidth,
            svgWidth: box.querySelector('svg').getBoundingClientRect().width,
            boxWidth: box.clientWidth,
            level: document.querySelector('[data-testid="cm-zoom-level"]').textContent,
          };
        });
      const base = await measure();
      assert.ok(base.cell >= 16, `a cell is ${base.cell} px at 100 %`);
      assert.ok(base.rowLabelHeight <= base.cell + 0.5, `row labels (${base.rowLabelHeight} px) fit their ${base.cell} px rows`);
      assert.match(base.colTransform, /rotate\(-45\)/, 'column labels are rotated');
      assert.ok(base.scrolls, 'at 100 % a 100-class matrix scrolls instead of shrinking');
      assert.equal(base.level, '100%');

      await page.getByTestId('cm-zoom-in').click();
      const zin = await measure();
      assert.equal(zin.level, '150%');
      assert.ok(Math.abs(zin.cell - base.cell * 1.5) < 0.5, `${zin.cell} vs 1.5 × ${base.cell}`);

      // Keyboard: focus a cell, − twice, then 0 for fit; the buttons are ordinary focusable buttons.
      await page.locator('[data-testid="confusion-matrix"] .cell[tabindex="0"]').focus();
      await page.keyboard.press('-');
      await page.keyboard.press('-');
      assert.equal((await measure()).level, '75%');
      await page.keyboard.press('0');
      const fit = await measure();
      assert.equal(fit.level, 'fit');
      assert.ok(!fit.scrolls && fit.svgWidth <= fit.boxWidth + 1, `fit: ${fit.svgWidth} px in ${fit.boxWidth} px`);
      await page.getByTestId('cm-zoom-in').focus();
      await page.keyboard.press('Enter');
      const fromFit = await measure();
      assert.ok(fromFit.cell > fit.cell, 'zooming in from fit enlarges the matrix');
      assert.equal(await readMatrix(page).then((m) => m.length), 100);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

/** A valid report with k classes and about perClass test samples each (deterministic). */
function syntheticReport(k, perClass) {
  const base = readReport('tiny-report.json');
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const labels = Array.from({ length: k }, (_, i) => `class-${String(i).padStart(3, '0')}`);
  const matrix = labels.map(() => new Array(k).fill(0));
  const predictions = { test_index: [], y_true: [], y_pred: [], confidence: [] };
  let index = 0;
  for (let i = 0; i < k; i++) {
    for (let s = 0; s < perClass; s++) {
      const j = rand() < 0.8 ? i : Math.floor(rand() * k);
      matrix[i][j] += 1;
      predictions.test_index.push(index++);
      predictions.y_true.push(i);
      predictions.y_pred.push(j);
      predictions.confidence.push(0.2 + 0.8 * rand());
    }
  }
  const per_class = Object.fromEntries(
    labels.map((l, i) => {
      const tp = matrix[i][i];
      const support = matrix[i].reduce((a, b) => a + b, 0);
      const predicted = matrix.reduce((a, r) => a + r[i], 0);
      const precision = predicted ? tp / predicted : 0;
      const recall = support ? tp / support : 0;
      const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
      return [l, { precision, recall, f1, support }];
    }),
  );
  const n = index;
  const accuracy = labels.reduce((a, _, i) => a + matrix[i][i], 0) / n;
  return {
    ...base,
    data: { ...base.data, name: 'synthetic.zip', n: n * 5, classes: labels, counts: labels.map(() => perClass * 5) },
    protocol: { ...base.protocol, n_train: n * 4, n_test: n },
    metrics: { ...base.metrics, accuracy, balanced_accuracy: accuracy, macro_f1: accuracy, per_class, confusion_matrix: { labels, matrix }, warnings: [] },
    predictions,
  };
}

describe('classroom links', () => {
  test('?model=…&data=…&run=1 fetches same-origin files, says so, and runs', { timeout: TEST_TIMEOUT }, async () => {
    const report = readReport('tiny-report.json');
    const query = '?model=assets/demo/encoder.onnx&data=tests/fixtures/data/tiny.zip&run=1';
    const { context, page, requests, problems } = await openPage(query, { wait: ['results'] });
    try {
      await assertMatchesReport(page, report);
      const note = await page.getByTestId('fetch-note').textContent();
      assert.ok(note.includes(`${server.url}assets/demo/encoder.onnx`), note);
      assert.ok(note.includes(`${server.url}tests/fixtures/data/tiny.zip`), note);
      for (const asset of ['assets/demo/encoder.onnx', 'tests/fixtures/data/tiny.zip']) {
        assert.ok(requests.includes(server.url + asset), `expected a request for ${asset}`);
      }
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('without run=1 the files are loaded and Run is offered', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await openPage('?model=assets/demo/encoder.onnx&data=tests/fixtures/data/tiny.zip');
    try {
      await page.waitForFunction(() => !document.getElementById('run').disabled, null, { timeout: 60_000 });
      assert.match(await page.locator('#data-info').textContent(), /tiny\.zip/);
      assert.equal(await page.evaluate(() => document.body.className), 'ready');
    } finally {
      await context.close();
    }
  });

  test('&preset=knn-vote sets the probe, says so before fetching, and gives the CLI’s --probe knn-vote report', { timeout: TEST_TIMEOUT }, async () => {
    const report = readReport('demo-knn-vote-report.json');
    const query = '?model=assets/demo/encoder.onnx&data=assets/demo/digits.zip&preset=knn-vote&run=1';
    const { context, page, problems } = await openPage(query, { wait: ['results'] });
    try {
      await assertMatchesReport(page, report);
      assert.equal(await page.getByTestId('probe-kind').inputValue(), 'knn_vote');
      const note = await page.getByTestId('fetch-note').textContent();
      assert.match(note, /fetches the model from http:\/\/[^ ]+\/assets\/demo\/encoder\.onnx and the images from http:\/\/[^ ]+\/assets\/demo\/digits\.zip; the probe is set to k-NN vote \(k = 3\) \(preset “knn-vote”\); then it runs the evaluation/);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('an unknown preset is refused with the known names, before anything is fetched', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page, requests } = await openPage('?model=assets/demo/encoder.onnx&data=tests/fixtures/data/tiny.zip&preset=resnet-magic&run=1', { wait: ['error'] });
    try {
      const message = await errorText(page);
      assert.match(message, /preset “resnet-magic”, which this page does not know\. Known presets: logreg, knn, knn-vote, centroid, mlp\. Nothing was fetched\./);
      assert.ok(!requests.some((u) => u.endsWith('encoder.onnx') || u.endsWith('tiny.zip')), 'neither file was requested');
      assert.equal(await page.getByTestId('run-demo').isDisabled(), false, 'the page stays usable');
    } finally {
      await context.close();
    }
  });

  test('a missing or foreign file gets a clear message', { timeout: TEST_TIMEOUT }, async () => {
    const missing = await openPage('?model=assets/demo/missing.onnx&data=tests/fixtures/data/tiny.zip&run=1', { wait: ['error'] });
    try {
      const message = await errorText(missing.page);
      assert.match(message, /could not fetch the model from http:\/\/[^ ]+\/assets\/demo\/missing\.onnx: HTTP 404/);
    } finally {
      await missing.context.close();
    }
    const foreign = await openPage('?model=https://example.com/encoder.onnx&data=tests/fixtures/data/tiny.zip&run=1', { wait: ['error'] });
    try {
      const message = await errorText(foreign.page);
      assert.match(message, /https:\/\/example\.com\/encoder\.onnx is on another site/);
      assert.ok(foreign.requests.every((u) => u.startsWith(server.url)), 'nothing was requested from another site');
    } finally {
      await foreign.context.close();
    }
  });
});
