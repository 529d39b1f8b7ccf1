// Model presets on the page (data-testid=model-preset): the demo MLP, EfficientNet-Lite0 and
// MiniLM-L6 from `make models` (offered when this site serves them). EfficientNet-Lite0 on
// tiny.zip gives the CLI's `eval --model models/efficientnet-lite0/model.onnx --data
// tests/fixtures/data/tiny.zip --seed 0` report.
//
// Needs: pkg/ (make build), models/ (make models) and target/e2e/{demo,tiny-efficientnet}-report.json
// (make e2e-reports).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RUN_TIMEOUT, TEST_TIMEOUT, TINY_DATA, assertMatchesReport, openPage, readReport, requireFile, useBrowser, waitForState } from './helpers.mjs';

useBrowser();

const status = (page) => page.evaluate(() => document.getElementById('status').textContent);
const presetValues = (page) => page.$$eval('[data-testid="model-preset"] option', (os) => os.map((o) => o.value));

describe('model presets', () => {
  test('EfficientNet-Lite0 loads as 1280-d NCHW 224×224×3 and gives the CLI report on tiny.zip', { timeout: 3 * TEST_TIMEOUT }, async () => {
    const report = readReport('tiny-efficientnet-report.json');
    requireFile('models/efficientnet-lite0/model.onnx', 'build it with `make models`');
    const { context, page, problems } = await openPage();
    try {
      await page.waitForFunction(() => !!document.querySelector('[data-testid="model-preset"] option[value="efficientnet-lite0"]'), null, { timeout: RUN_TIMEOUT });
      await page.getByTestId('model-preset').selectOption('efficientnet-lite0');
      await page.waitForFunction(() => /^Model preset /.test(document.getElementById('status').textContent), null, { timeout: RUN_TIMEOUT });
      assert.equal(await status(page), 'Model preset EfficientNet-Lite0 (ImageNet, 1280-d) loaded: embedding dimension 1280. Now choose labelled images.');
      const info = await page.locator('#model-info').textContent();
      assert.match(info, /NCHW · 3 ch · 224×224/);
      assert.match(info, /Embedding dim\s*1280/);
      assert.equal(await page.getByTestId('preprocess-preset').inputValue(), 'zero-one');

      await page.getByTestId('data-input').setInputFiles(TINY_DATA);
      await page.waitForFunction(() => /^Data tiny\.zip loaded/.test(document.getElementById('status').textContent), null, { timeout: RUN_TIMEOUT });
      await page.getByTestId('seed').fill('0');
      await page.getByTestId('run').click();
      await waitForState(page, ['results'], 3 * RUN_TIMEOUT);
      await assertMatchesReport(page, report);
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
      const got = JSON.parse(readFileSync(await download.path(), 'utf8'));
      for (const key of ['test_index', 'y_true', 'y_pred']) assert.deepEqual(got.predictions[key], report.predictions[key], key);
      // Embeddings from tract in wasm and natively differ in the last float bits only.
      got.predictions.confidence.forEach((c, i) => assert.ok(Math.abs(c - report.predictions.confidence[i]) <= 1e-4, `confidence ${i}: ${c}`));
      for (const key of ['data', 'preprocessing']) assert.deepEqual(got[key], report[key], key);
      for (const key of ['name', 'sha256', 'embedding_dim', 'layout', 'output']) assert.equal(got.model[key], report.model[key], `model.${key}`);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('the demo MLP preset loads the demo encoder; MiniLM-L6 runs the Text demo', { timeout: 2 * TEST_TIMEOUT }, async () => {
    const demo = readReport('demo-report.json');
    requireFile('models/minilm/tokenizer.json', 'build it with `make models`');
    const { context, page, problems } = await openPage();
    try {
      await page.waitForFunction(() => !!document.querySelector('[data-testid="model-preset"] option[value="minilm"]'), null, { timeout: RUN_TIMEOUT });
      assert.deepEqual((await presetValues(page)).sort(), ['', 'demo-mlp', 'efficientnet-lite0', 'minilm']);
      await page.getByTestId('model-preset').selectOption('demo-mlp');
      await page.waitForFunction(() => /^Model preset /.test(document.getElementById('status').textContent), null, { timeout: RUN_TIMEOUT });
      assert.equal(await status(page), `Model preset Demo MLP (assets/demo) loaded: embedding dimension ${demo.model.embedding_dim}. Now choose labelled images.`);
      assert.match(await page.locator('#model-info').textContent(), new RegExp(`Embedding dim\\s*${demo.model.embedding_dim}`));

      await page.getByTestId('model-preset').selectOption('minilm');
      await page.waitForFunction(() => /^Text demo loaded/.test(document.getElementById('status').textContent), null, { timeout: RUN_TIMEOUT });
      assert.match(await page.locator('#model-info').textContent(), /Embedding dim\s*384/);
      assert.match(await page.locator('#data-info').textContent(), /trec6_sample\.csv/);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
