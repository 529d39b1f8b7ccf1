// The model panel: the proposed preprocessing the user can change (against the CLI's
// `eval --preprocess`), the cache keyed by it, output and pooling choice, and the fidelity
// check against reference embeddings made by onnxruntime (tools/make_model_fixtures.py).
//
// Needs: pkg/ (make build) and the CLI at target/debug/downstream (make cli).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEMO_MODEL, RUN_TIMEOUT, TEST_TIMEOUT, TINY_DATA, assertMatchesReport, errorText, openPage, requireFile, useBrowser, waitForState } from './helpers.mjs';

useBrowser();

const models = (name) => requireFile(`tests/fixtures/models/${name}`, 'it is a committed fixture (tools/make_model_fixtures.py)');

/** The CLI's report of the demo encoder on tiny.zip with extra eval flags. */
function cliReport(flags) {
  const cli = requireFile('target/debug/downstream', 'run `make cli` first');
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'downstream-model-')), 'report.json');
  execFileSync(cli, ['eval', '--model', DEMO_MODEL, '--data', TINY_DATA, '--seed', '0', ...flags, '--out', out], { stdio: 'pipe' });
  return JSON.parse(readFileSync(out, 'utf8'));
}

async function stats(page) {
  return page.evaluate(() => JSON.parse(JSON.stringify(window.__downstream.stats)));
}

async function waitForStatus(page, testid, pattern) {
  await page.waitForFunction(
    ([id, source]) => new RegExp(source).test(document.querySelector(`[data-testid="${id}"]`)?.textContent ?? ''),
    [testid, pattern.source],
    { timeout: RUN_TIMEOUT, polling: 100 },
  );
  return page.getByTestId(testid).textContent();
}

async function runAndDownload(page) {
  await page.getByTestId('run').click({ timeout: RUN_TIMEOUT });
  await waitForState(page, ['results']);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
  return JSON.parse(readFileSync(await download.path(), 'utf8'));
}

describe('model panel', () => {
  test('the proposed preprocessing can be changed, matches the CLI, and re-embeds', { timeout: TEST_TIMEOUT }, async () => {
    const want = cliReport(['--preprocess', 'minus-one-one']);
    const { context, page, problems } = await openPage('?test-hooks=1&workers=1');
    try {
      await page.getByTestId('model-input').setInputFiles(DEMO_MODEL);
      await page.getByTestId('model-options').waitFor({ state: 'visible', timeout: RUN_TIMEOUT });
      // The proposal for a 1-channel input: grayscale, [0,1], stretch; ImageNet needs 3 channels.
      assert.equal(await page.getByTestId('preprocess-preset').inputValue(), 'zero-one');
      assert.equal(await page.getByTestId('preprocess-color').inputValue(), 'gray');
      assert.equal(await page.getByTestId('preprocess-resize').inputValue(), 'stretch');
      assert.equal(await page.getByTestId('model-output').isVisible(), false, 'one output: no output select');
      await page.getByTestId('data-input').setInputFiles(TINY_DATA);
      await page.waitForFunction(() => /^Data /.test(document.getElementById('status').textContent), null, { timeout: RUN_TIMEOUT });

      const plain = await runAndDownload(page);
      assert.equal(plain.preprocessing.options.scale, 'zero-one');
      const embedded = (await stats(page)).embedRanges + (await stats(page)).embedSteps;

      await page.getByTestId('preprocess-preset').selectOption('imagenet');
      const refused = await waitForStatus(page, 'model-options-status', /Options not applied/);
      assert.match(refused, /ImageNet's mean and std are for 3 channels; the model takes 1/);
      assert.equal(await page.getByTestId('preprocess-preset').inputValue(), 'zero-one', 'the form shows the options in use');

      await page.getByTestId('preprocess-preset').selectOption('minus-one-one');
      await waitForStatus(page, 'model-options-status', /Options applied: \[-1,1\]/);
      assert.equal(await page.getByTestId('preprocess-mean').inputValue(), '0.5');
      const got = await runAndDownload(page);
      let s = await stats(page);
      assert.equal(s.lastRun.embeddings, 'computed', 'new options embed again');
      assert.ok(s.embedRanges + s.embedSteps > embedded);
      assert.deepEqual(got.preprocessing, want.preprocessing);
      assert.equal(got.model.pooling, want.model.pooling);
      await assertMatchesReport(page, want);
      for (const key of ['test_index', 'y_true', 'y_pred']) assert.deepEqual(got.predictions[key], want.predictions[key], key);

      // Custom starts from the values in use; a bad number is refused.
      await page.getByTestId('preprocess-preset').selectOption('custom');
      await waitForStatus(page, 'model-options-status', /Options applied: custom/);
      assert.equal(await page.getByTestId('preprocess-std').inputValue(), '0.5');
      await page.getByTestId('preprocess-std').fill('nope');
      await page.getByTestId('preprocess-std').dispatchEvent('change');
      await waitForStatus(page, 'model-options-status', /Mean and std must be numbers/);

      // Back to [0,1]: the first run's embeddings come from the cache (the key has the options).
      await page.getByTestId('preprocess-preset').selectOption('zero-one');
      await waitForStatus(page, 'model-options-status', /Options applied: \[0,1\]/);
      const back = await runAndDownload(page);
      s = await stats(page);
      assert.equal(s.lastRun.embeddings, 'cache');
      assert.deepEqual(back.predictions, plain.predictions);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('an operator left out of the page build is named with its node; the loaded model stays', { timeout: TEST_TIMEOUT }, async () => {
    // lstm.onnx runs on the command line (tests/onnx_ops.rs); the page build has no LSTM.
    const { context, page } = await openPage('?test-hooks=1');
    try {
      await page.getByTestId('model-input').setInputFiles(DEMO_MODEL);
      await page.getByTestId('model-options').waitFor({ state: 'visible', timeout: RUN_TIMEOUT });
      const info = await page.locator('#model-info').textContent();
      await page.getByTestId('model-input').setInputFiles(models('lstm.onnx'));
      await page.waitForFunction(() => document.body.className === 'error', null, { timeout: RUN_TIMEOUT });
      assert.equal(
        await errorText(page),
        "Could not load model: 'lstm.onnx' cannot be run on this page: it uses LSTM (node 'lstm_0'): this op is not compiled into the page build " +
          '(it keeps the download small); the command-line tool `downstream` supports it',
      );
      assert.equal(await page.locator('#model-info').textContent(), info, 'the demo encoder is still the model');
      // The image build sent it on to the full build, which gave this final answer, and the
      // demo encoder was reloaded there.
      assert.equal(await page.evaluate(() => window.__downstream?.engine.build), 'full');
      await page.getByTestId('data-input').setInputFiles(TINY_DATA);
      await page.waitForFunction(() => /^Data /.test(document.getElementById('status').textContent), null, { timeout: RUN_TIMEOUT });
      await page.getByTestId('run').click({ timeout: RUN_TIMEOUT });
      await waitForState(page, ['results']);
    } finally {
      await context.close();
    }
  });

  test('several outputs: pick the embedding output and its pooling', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page, problems } = await openPage();
    try {
      await page.getByTestId('model-input').setInputFiles(models('two_outputs.onnx'));
      await page.getByTestId('model-options').waitFor({ state: 'visible', timeout: RUN_TIMEOUT });
      const output = page.getByTestId('model-output');
      assert.equal(await output.isVisible(), true);
      assert.deepEqual(await output.locator('option').allTextContents(), ['pooled [N, 4]', 'features [N, 4, 4, 4]']);
      assert.equal(await output.inputValue(), 'pooled');
      assert.equal(await page.getByTestId('model-pooling').isVisible(), false, 'rank-2 output: no pooling');
      assert.equal(await page.getByTestId('preprocess-color').inputValue(), 'rgb');

      await output.selectOption('features');
      await waitForStatus(page, 'model-options-status', /embedding features \(flatten\), dimension 64/);
      assert.equal(await page.getByTestId('model-pooling').isVisible(), true);
      await page.getByTestId('model-pooling').selectOption('mean');
      await waitForStatus(page, 'model-options-status', /embedding features \(mean\), dimension 4/);
      assert.match(await page.locator('#model-info').textContent(), /Embedding dim4/);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('fidelity: onnxruntime reference embeddings of the first items, and a wrong-shape file', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page, problems } = await openPage();
    try {
      await page.getByTestId('model-input').setInputFiles(DEMO_MODEL);
      await page.getByTestId('model-options').waitFor({ state: 'visible', timeout: RUN_TIMEOUT });
      await page.getByTestId('data-input').setInputFiles(requireFile('assets/demo/digits.zip', 'a committed demo asset'));
      await page.waitForFunction(() => /^Data /.test(document.getElementById('status').textContent), null, { timeout: RUN_TIMEOUT });

      await page.getByTestId('fidelity-file').setInputFiles(models('demo_reference.npy'));
      const text = await waitForStatus(page, 'fidelity-result', /^Fidelity (vs|check failed)/);
      const m = text.match(/^Fidelity vs demo_reference\.npy: 16 items × 64; max-abs difference (\S+), cosine similarity mean (\S+), min (\S+) \(item \d+\)\.$/);
      assert.ok(m, text);
      assert.ok(Number(m[1]) < 1e-4, `max-abs ${m[1]}`);
      assert.ok(Number(m[3]) > 0.99999, `min cosine ${m[3]}`);

      await page.getByTestId('fidelity-file').setInputFiles(models('demo_reference_bad.npy'));
      const bad = await waitForStatus(page, 'fidelity-result', /^Fidelity check failed/);
      assert.equal(
        bad,
        "Fidelity check failed: array file 'demo_reference_bad.npy': reference embeddings have shape [16, 63]; expected [N, 64]: N rows for the first N of the data set's 1000 items (1 to 1000), 64 = the model's embedding dimension",
      );
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
