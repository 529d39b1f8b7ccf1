// End-to-end tests: the real page, in headless Chromium, against CLI reference reports.
//
// Needs: pkg/ (make build), the demo assets, and target/e2e/{demo,tiny}-report.json
// written by the native CLI (make e2e-reports). Run with `npm run test:e2e`.
// Env: CHROMIUM_PATH (default /usr/bin/chromium), DOWNSTREAM_E2E_REPORTS (default target/e2e).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  DEMO_MODEL,
  TEST_TIMEOUT,
  RUN_TIMEOUT,
  TINY_DATA,
  assertMatchesReport,
  dataValue,
  openPage,
  readMatrix,
  readReport,
  requireFile,
  server,
  useBrowser,
  waitForState,
} from './helpers.mjs';

useBrowser();

describe('Downstream page', () => {
  test('demo run matches the CLI report and offers it for download', { timeout: TEST_TIMEOUT }, async () => {
    const report = readReport('demo-report.json');
    const { context, page, problems } = await openPage();
    try {
      await page.getByTestId('run-demo').click();
      await waitForState(page, ['results']);
      await assertMatchesReport(page, report);

      const b = report.baselines;
      const baselineText = await page.getByText(/^majority class/).textContent();
      assert.ok(baselineText.includes(`“${b.majority_class}” ${b.majority_accuracy.toFixed(4)}`), baselineText);
      assert.ok(baselineText.includes(`chance ${b.chance_accuracy.toFixed(4)}`), baselineText);

      const progress = page.getByTestId('progress');
      assert.equal(await progress.getAttribute('max'), String(report.data.n));

      await page.getByTestId('cm-normalize').selectOption('true');
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
      const PROBA_KEYS = ['log_loss', 'roc_auc_ovr_macro', 'top_2_accuracy', 'top_5_accuracy', 'ece', 'average_precision', 'curves'];
      const strip = (m) => Object.fromEntries(Object.entries(m).filter(([k]) => !PROBA_KEYS.includes(k)));
      assert.deepEqual(strip(downloaded.metrics), strip(report.metrics));
      for (const key of PROBA_KEYS) {
        const [a, b] = [downloaded.metrics[key], report.metrics[key]];
        assert.equal(typeof a, typeof b, key);
        if (typeof a === 'number') assert.ok(Math.abs(a - b) <= 1e-3, `${key}: ${a} vs ${b}`);
      }
      const ap = (m) => m.average_precision?.macro ?? m.average_precision;
      if (typeof ap(report.metrics) === 'number') assert.ok(Math.abs(ap(downloaded.metrics) - ap(report.metrics)) <= 1e-3, 'average precision');
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
      // Debian's Chromium validates relaxed SIMD, so the workers load pkg/relaxed/ (simd.test.mjs).
      for (const asset of ['pkg/relaxed/downstream_bg.wasm', 'assets/demo/encoder.onnx', 'assets/demo/digits.zip']) {
        assert.ok(requests.includes(server.url + asset), `expected a request for ${asset}`);
      }
      // The demo needs only the image build: the full build (text, rarer operators) is not fetched.
      assert.ok(!requests.some((u) => u.endsWith('downstream_full_bg.wasm')), 'the demo fetched the full build');
    } finally {
      await context.close();
    }
  });

  for (const [kind, file] of [['knn_vote', 'demo-knn-vote-report.json'], ['nearest_centroid', 'demo-centroid-report.json']]) {
    test(`the ${kind} probe chosen on the page matches the CLI's --probe report`, { timeout: TEST_TIMEOUT }, async () => {
      const report = readReport(file);
      assert.equal(report.probe.kind, kind);
      const { context, page, problems } = await openPage();
      try {
        await page.getByTestId('probe-kind').selectOption(kind);
        await page.getByTestId('run-demo').click();
        await waitForState(page, ['results']);
        assert.equal(await dataValue(page, 'metric-accuracy'), String(report.metrics.accuracy));
        assert.equal(await dataValue(page, 'metric-macro-f1'), String(report.metrics.macro_f1));
        assert.deepEqual(await readMatrix(page), report.metrics.confusion_matrix.matrix);
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });
  }
});
