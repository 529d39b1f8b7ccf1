// End-to-end tests: the real page, in headless Chromium, against CLI reference reports.
//
// Needs: pkg/ (make build), the demo assets, and target/e2e/{demo,tiny}-report.json
// written by the native CLI (make e2e-reports). Run with `npm run test:e2e`.
// Env: CHROMIUM_PATH (default /usr/bin/chromium), DOWNSTREAM_E2E_REPORTS (default target/e2e).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../tools/serve.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const RUN_TIMEOUT = 120_000;
const TEST_TIMEOUT = 180_000;

/** Where the CLI reference reports live; override for ad-hoc runs. */
const REPORTS_DIR = process.env.DOWNSTREAM_E2E_REPORTS || path.join(ROOT, 'target/e2e');
const DEMO_MODEL = path.join(ROOT, 'assets/demo/encoder.onnx');
const TINY_DATA = path.join(ROOT, 'tests/fixtures/data/tiny.zip');

function requireFile(rel, hint) {
  const file = path.join(ROOT, rel);
  assert.ok(existsSync(file), `${rel} is missing; ${hint}`);
  return file;
}

/** Reads a CLI reference report, failing with instructions if it is missing. */
function readReport(name) {
  const file = path.join(REPORTS_DIR, name);
  assert.ok(
    existsSync(file),
    `${file} is missing; run \`make e2e-reports\` first (it writes the reference reports with the native CLI)`,
  );
  return JSON.parse(readFileSync(file, 'utf8'));
}

let browser;
let server;

before(async () => {
  requireFile('pkg/downstream.js', 'run `make build` first');
  requireFile('pkg/downstream_bg.wasm', 'run `make build` first');
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`);
  server = await startServer({ port: 0 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Opens the page, collecting page errors and console errors (CSP violations land there). */
async function openPage() {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  const requests = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('request', (req) => requests.push(req.url()));
  await page.goto(server.url);
  await waitForState(page, ['ready'], 60_000);
  return { context, page, problems, requests };
}

async function bodyClass(page) {
  return page.evaluate(() => document.body.className);
}

async function errorText(page) {
  return page.locator('[data-testid="error-message"]').textContent();
}

/** Waits until body has one of the wanted classes or `error`; fails with the error text otherwise. */
async function waitForState(page, wanted, timeout = RUN_TIMEOUT) {
  const states = [...new Set([...wanted, 'error'])];
  await page.waitForFunction(
    (s) => s.includes(document.body.className),
    states,
    { timeout, polling: 100 },
  );
  const cls = await bodyClass(page);
  if (!wanted.includes(cls)) {
    assert.fail(`page went to "${cls}" instead of ${wanted.join('/')}: ${await errorText(page)}`);
  }
  return cls;
}

/** Reads the heatmap cells back into a matrix of counts. */
async function readMatrix(page) {
  const cells = await page.$$eval('[data-testid="confusion-matrix"] [data-row][data-col]', (els) =>
    els.map((e) => [Number(e.dataset.row), Number(e.dataset.col), Number(e.dataset.count)]),
  );
  const n = Math.round(Math.sqrt(cells.length));
  assert.equal(n * n, cells.length, `confusion matrix has ${cells.length} cells, not a square`);
  const matrix = Array.from({ length: n }, () => new Array(n).fill(null));
  for (const [r, c, count] of cells) matrix[r][c] = count;
  return matrix;
}

async function dataValue(page, testid) {
  return page.locator(`[data-testid="${testid}"]`).getAttribute('data-value');
}

/** Checks headline metrics, matrix and per-class table against a CLI report. */
async function assertMatchesReport(page, report) {
  const m = report.metrics;
  assert.equal(await dataValue(page, 'metric-accuracy'), String(m.accuracy));
  assert.equal(await dataValue(page, 'metric-macro-f1'), String(m.macro_f1));
  assert.equal(
    (await page.locator('[data-testid="metric-accuracy"]').textContent()).trim(),
    m.accuracy.toFixed(4),
  );

  const matrix = await readMatrix(page);
  assert.deepEqual(matrix, m.confusion_matrix.matrix);
  const sum = matrix.flat().reduce((a, b) => a + b, 0);
  assert.equal(sum, report.protocol.n_test);

  const axisLabels = await page.$$eval(
    '[data-testid="confusion-matrix"] .row-labels title',
    (els) => els.map((e) => e.textContent),
  );
  assert.deepEqual(axisLabels, m.confusion_matrix.labels);

  const rows = await page.$$eval('[data-testid="per-class-table"] tbody tr', (trs) =>
    trs.map((tr) => [tr.dataset.class, ...[...tr.querySelectorAll('td')].map((td) => td.dataset.value)]),
  );
  assert.deepEqual(
    rows,
    m.confusion_matrix.labels.map((l) => {
      const c = m.per_class[l];
      return [l, String(c.precision), String(c.recall), String(c.f1), String(c.support)];
    }),
  );
}

describe('Downstream page', () => {
  test('demo run matches the CLI report and offers it for download', { timeout: TEST_TIMEOUT }, async () => {
    const report = readReport('demo-report.json');
    const { context, page, problems } = await openPage();
    try {
      await page.getByTestId('run-demo').click();
      await waitForState(page, ['results']);
      await assertMatchesReport(page, report);

      const progress = page.getByTestId('progress');
      assert.equal(await progress.getAttribute('max'), String(report.data.n));

      await page.getByLabel('Row-normalised').check();
      assert.deepEqual(await readMatrix(page), report.metrics.confusion_matrix.matrix);

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByTestId('download-report').click(),
      ]);
      assert.equal(download.suggestedFilename(), 'downstream-report.json');
      const downloaded = JSON.parse(readFileSync(await download.path(), 'utf8'));
      assert.equal(downloaded.schema, 'downstream-report');
      // Label-based metrics and predictions are identical; probability-based ones come
      // from embeddings that differ in the last bits between wasm (simd128) and native
      // kernels, so they agree to 1e-3 rather than to the bit.
      const PROBA_KEYS = ['log_loss', 'roc_auc_ovr_macro', 'top_2_accuracy'];
      const strip = (m) => Object.fromEntries(Object.entries(m).filter(([k]) => !PROBA_KEYS.includes(k)));
      assert.deepEqual(strip(downloaded.metrics), strip(report.metrics));
      for (const key of PROBA_KEYS) {
        assert.ok(Math.abs(downloaded.metrics[key] - report.metrics[key]) <= 1e-3, `${key}: ${downloaded.metrics[key]} vs ${report.metrics[key]}`);
      }
      assert.deepEqual(downloaded.predictions.y_pred, report.predictions.y_pred);
      assert.deepEqual(downloaded.predictions.test_index, report.predictions.test_index);
      assert.deepEqual(downloaded.protocol, report.protocol);

      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('uploaded model and zip match the CLI report', { timeout: TEST_TIMEOUT }, async () => {
    const report = readReport('tiny-report.json');
    const { context, page, problems } = await openPage();
    try {
      await page.getByTestId('model-input').setInputFiles(DEMO_MODEL);
      await page.getByTestId('data-input').setInputFiles(requireFile('tests/fixtures/data/tiny.zip', 'it is a committed fixture'));
      await page.getByTestId('run').click({ timeout: RUN_TIMEOUT });
      await waitForState(page, ['results']);
      await assertMatchesReport(page, report);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('a bad model shows an error and keeps the previous results', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await openPage();
    try {
      await page.getByTestId('model-input').setInputFiles(DEMO_MODEL);
      await page.getByTestId('data-input').setInputFiles(TINY_DATA);
      await page.getByTestId('run').click({ timeout: RUN_TIMEOUT });
      await waitForState(page, ['results']);
      const accuracy = await dataValue(page, 'metric-accuracy');

      await page.getByTestId('model-input').setInputFiles({
        name: 'bad.onnx',
        mimeType: 'application/octet-stream',
        buffer: randomBytes(4096),
      });
      await page.waitForFunction(() => document.body.className === 'error', null, { timeout: RUN_TIMEOUT });
      const error = page.getByTestId('error-message');
      assert.ok(await error.isVisible(), 'error message is not visible');
      assert.match(await error.textContent(), /not a valid ONNX model/);
      assert.match(await error.textContent(), /bad\.onnx/, "the error should name the file");
      assert.ok(await page.getByTestId('metric-accuracy').isVisible(), 'previous results were hidden');
      assert.equal(await dataValue(page, 'metric-accuracy'), accuracy);
      assert.equal(await page.getByTestId('run').isEnabled(), true, 'the previous model should still be usable');

      await page.getByTestId('model-input').setInputFiles(DEMO_MODEL);
      await waitForState(page, ['results']);
      assert.equal(await error.isVisible(), false, 'a successful load should clear the error');
    } finally {
      await context.close();
    }
  });

  test('the demo makes no request outside its own origin', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page, requests } = await openPage();
    try {
      await page.getByTestId('run-demo').click();
      await waitForState(page, ['results']);
      assert.ok(requests.length > 0, 'no requests were recorded');
      const foreign = requests.filter((u) => !u.startsWith(server.url));
      assert.deepEqual(foreign, []);
      for (const asset of ['pkg/downstream_bg.wasm', 'assets/demo/encoder.onnx', 'assets/demo/digits.zip']) {
        assert.ok(requests.includes(server.url + asset), `expected a request for ${asset}`);
      }
    } finally {
      await context.close();
    }
  });
});
