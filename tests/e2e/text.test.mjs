// Text on the page: a sentence encoder (all-MiniLM-L6-v2 ONNX + tokenizer.json) and a CSV of
// 135 TREC-6 questions embedded in the browser give the CLI's report (`eval --tokenizer`, whose
// numbers tests/text_eval.rs checks against scikit-learn); the gallery shows the texts; the
// Text demo button loads the model and the demo questions.
//
// Needs: pkg/ (make build), models/minilm (make models) and
// target/e2e/text-trec-small-report.json (make e2e-reports).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RUN_TIMEOUT, TEST_TIMEOUT, assertMatchesReport, openPage, readReport, requireFile, useBrowser, waitForState } from './helpers.mjs';

useBrowser();

const status = (page) => page.evaluate(() => document.getElementById('status').textContent);

describe('text on the page', () => {
  test('MiniLM on a CSV of questions gives the CLI report; the gallery shows texts', { timeout: 2 * TEST_TIMEOUT }, async () => {
    const report = readReport('text-trec-small-report.json');
    const model = requireFile('models/minilm/model.onnx', 'build it with `make models`');
    const tokenizer = requireFile('models/minilm/tokenizer.json', 'build it with `make models`');
    const data = requireFile('tests/fixtures/text-eval/trec_small.csv', 'a committed fixture (tools/make_text_eval_fixture.py)');
    const { context, page, problems } = await openPage('?test-hooks=1');
    try {
      await page.getByTestId('text-model-file').setInputFiles(model);
      await page.getByTestId('tokenizer-file').setInputFiles(tokenizer);
      await page.waitForFunction(() => /^Text model /.test(document.getElementById('status').textContent), null, { timeout: RUN_TIMEOUT });
      assert.equal(await status(page), 'Text model model.onnx loaded: embedding dimension 384, pooling mean, L2-normalised.');
      await page.getByTestId('text-data-file').setInputFiles(data);
      await page.waitForFunction(() => /^Texts /.test(document.getElementById('status').textContent), null, { timeout: RUN_TIMEOUT });
      assert.equal(await status(page), 'Texts trec_small.csv loaded: 135 texts in 6 classes.');
      await page.getByTestId('seed').fill('0');
      await page.getByTestId('run').click();
      await waitForState(page, ['results'], 2 * RUN_TIMEOUT);
      await assertMatchesReport(page, report);
      // The pool embedded the texts longest first (textOrder, embedItems), as the CLI does.
      const run = await page.evaluate(() => window.__downstream.stats.lastRun);
      assert.equal(run.embeddings, 'computed');
      assert.equal(run.textOrder, true);
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
      const got = JSON.parse(readFileSync(await download.path(), 'utf8'));
      for (const key of ['test_index', 'y_true', 'y_pred']) assert.deepEqual(got.predictions[key], report.predictions[key], key);
      // Embeddings from tract in wasm and natively differ in the last float bits only.
      got.predictions.confidence.forEach((c, i) => assert.ok(Math.abs(c - report.predictions.confidence[i]) <= 1e-4, `confidence ${i}: ${c}`));
      for (const key of ['data', 'preprocessing']) assert.deepEqual(got[key], report[key], key);
      assert.equal(got.model.sha256, report.model.sha256);

      // The diagonal cell of the first class with test items lists its questions as text.
      const k = report.metrics.confusion_matrix.labels.findIndex((_, i) => report.metrics.confusion_matrix.matrix[i][i] > 0);
      const want = report.predictions.test_index.filter((_, j) => report.predictions.y_true[j] === k && report.predictions.y_pred[j] === k);
      await page.locator(`[data-testid="confusion-matrix"] [data-row="${k}"][data-col="${k}"]`).first().click();
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="sample-gallery"] .sample-text').length === n, want.length, { timeout: RUN_TIMEOUT });
      const texts = await page.$$eval('[data-testid="sample-gallery"] .sample-text', (ps) => ps.map((p) => p.textContent));
      const questions = readFileSync(requireFile('tests/fixtures/text-eval/trec_small.jsonl', 'committed'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).question);
      assert.deepEqual(texts, want.map((i) => questions[i]));

      // The Text demo button is offered (models/minilm is served) and loads MiniLM + TREC-6.
      await page.keyboard.press('Escape');
      assert.equal(await page.getByTestId('text-demo').isVisible(), true);
      await page.getByTestId('text-demo').click();
      await page.waitForFunction(() => /^Text demo loaded/.test(document.getElementById('status').textContent), null, { timeout: RUN_TIMEOUT });
      assert.match(await page.locator('#data-info').textContent(), /trec6_sample\.csv/);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
