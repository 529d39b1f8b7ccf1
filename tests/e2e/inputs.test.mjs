// Inputs other than a model and a zip: precomputed embeddings (.npz, .csv, .npy + labels)
// evaluated without an encoder, against the CLI's `probe --data` report on the same file.
//
// Needs: pkg/ (make build) and target/e2e/iris-embeddings-report.json (make e2e-reports).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  DEMO_MODEL,
  TEST_TIMEOUT,
  RUN_TIMEOUT,
  assertMatchesReport,
  errorText,
  openPage,
  readReport,
  requireFile,
  useBrowser,
  waitForState,
} from './helpers.mjs';

useBrowser();

const fixture = (name) => requireFile(`tests/fixtures/embeddings/${name}`, 'it is a committed fixture (tools/make_embedding_fixtures.py)');

/** Runs the page on the chosen embeddings file(s) with seed 5 and returns the downloaded report. */
async function runOn(page, files) {
  await page.getByTestId('embeddings-file').setInputFiles(files);
  await page.waitForFunction(() => /^Embeddings /.test(document.getElementById('status').textContent), null, { timeout: RUN_TIMEOUT });
  await page.getByTestId('seed').fill('5');
  await page.getByTestId('run').click({ timeout: RUN_TIMEOUT });
  await waitForState(page, ['results']);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
  return JSON.parse(readFileSync(await download.path(), 'utf8'));
}

/** Same test items and predicted labels; confidences to 1e-6 (wasm and native fits differ in the last bits). */
function samePredictions(got, want) {
  for (const key of ['test_index', 'y_true', 'y_pred']) assert.deepEqual(got.predictions[key], want.predictions[key], key);
  got.predictions.confidence.forEach((c, i) => assert.ok(Math.abs(c - want.predictions.confidence[i]) <= 1e-6, `confidence ${i}: ${c}`));
}

describe('precomputed embeddings on the page', () => {
  test('an .npz, a .csv and a .npy with labels give the CLI probe --data report', { timeout: TEST_TIMEOUT }, async () => {
    const report = readReport('iris-embeddings-report.json');
    assert.ok(report.metrics.accuracy < 1, 'the reference split has errors, so the comparison can fail');
    const { context, page, problems } = await openPage();
    try {
      // A model loaded before is not needed and not used.
      await page.getByTestId('model-input').setInputFiles(DEMO_MODEL);
      const npz = await runOn(page, fixture('iris.npz'));
      await assertMatchesReport(page, report);
      // No encoder ran: the probe sees the file's numbers, so even probabilities agree
      // with the native CLI to rounding of the fit.
      for (const key of ['protocol', 'baselines', 'data', 'model', 'preprocessing']) assert.deepEqual(npz[key], report[key], key);
      assert.equal(npz.probe.kind, report.probe.kind);
      assert.equal(npz.probe.c, report.probe.c);
      samePredictions(npz, report);
      assert.ok(Math.abs(npz.metrics.log_loss - report.metrics.log_loss) <= 1e-6, `log loss ${npz.metrics.log_loss} vs ${report.metrics.log_loss}`);
      assert.deepEqual(npz.metrics.ci, report.metrics.ci);

      const csv = await runOn(page, fixture('iris.csv'));
      samePredictions(csv, report);
      assert.equal(csv.data.name, 'iris.csv');
      const npy = await runOn(page, [fixture('iris_X.npy'), fixture('iris_labels.txt')]);
      samePredictions(npy, report);
      assert.deepEqual(npy.metrics.confusion_matrix, report.metrics.confusion_matrix);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('bad embeddings files say what is wrong and keep what was loaded', { timeout: TEST_TIMEOUT }, async () => {
    const expected = JSON.parse(readFileSync(requireFile('tests/fixtures/bad/expected.json', 'committed'), 'utf8'));
    const { context, page } = await openPage();
    try {
      await page.getByTestId('embeddings-file').setInputFiles(fixture('iris.npz'));
      await page.waitForFunction(() => /^Embeddings /.test(document.getElementById('status').textContent), null, { timeout: RUN_TIMEOUT });
      for (const file of ['emb_ragged.csv', 'emb_nan.npz']) {
        const { message } = expected.find((c) => c.file === file && c.kind === 'embeddings');
        await page.getByTestId('embeddings-file').setInputFiles(requireFile(`tests/fixtures/bad/${file}`, 'committed'));
        await page
          .waitForFunction((m) => document.querySelector('[data-testid="error-message"]').textContent.includes(m), message, { timeout: RUN_TIMEOUT })
          .catch(async () => assert.fail(`${file}: ${await errorText(page)}`));
        assert.equal(await page.evaluate(() => document.body.className), 'error');
      }
      // The iris embeddings are still loaded: Run works.
      await page.getByTestId('run').click({ timeout: RUN_TIMEOUT });
      await waitForState(page, ['results']);
    } finally {
      await context.close();
    }
  });
});
