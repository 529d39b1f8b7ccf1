// The page's two wasm builds (issue 6, download size): the image build (pkg/downstream.js,
// common image-encoder operators, no tokenizer) is the first download; the full build
// (pkg/downstream_full.js) is fetched only when a model needs it, and the switch keeps what
// was loaded. full_only.onnx (Flatten -> MatMul -> Sin) and onnxruntime's embeddings of the
// first 16 digits come from tools/make_model_fixtures.py; Sin is not in the image build
// (tools/vendor_page_ops.py).
//
// Needs: pkg/ (make build).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO_MODEL, RUN_TIMEOUT, TEST_TIMEOUT, TINY_DATA, errorText, openPage, requireFile, server, useBrowser, waitForState } from './helpers.mjs';

useBrowser();

const fixture = (name) => requireFile(`tests/fixtures/models/${name}`, 'it is a committed fixture (tools/make_model_fixtures.py)');
const DIGITS = () => requireFile('assets/demo/digits.zip', 'a committed demo asset');

async function engineState(page) {
  return page.evaluate(() => ({ build: window.__downstream.engine.build, switches: window.__downstream.stats.buildSwitches }));
}

async function waitForText(page, selector, pattern) {
  await page.waitForFunction(
    ([sel, source]) => new RegExp(source).test(document.querySelector(sel)?.textContent ?? ''),
    [selector, pattern.source],
    { timeout: RUN_TIMEOUT, polling: 100 },
  );
  return page.locator(selector).textContent();
}

describe('the image build and the full build', () => {
  test('a model the image build cannot run loads through the full build; data and results come through', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page, problems, requests } = await openPage('?test-hooks=1&cache=0');
    // Debian's Chromium validates relaxed SIMD: the workers load pkg/relaxed/ (simd.test.mjs).
    const full = `${server.url}pkg/relaxed/downstream_full_bg.wasm`;
    try {
      await page.getByTestId('data-input').setInputFiles(DIGITS());
      await waitForText(page, '#status', /^Data /);
      await page.getByTestId('model-input').setInputFiles(DEMO_MODEL);
      await page.getByTestId('model-options').waitFor({ state: 'visible', timeout: RUN_TIMEOUT });
      assert.deepEqual(await engineState(page), { build: 'image', switches: 0 });
      assert.ok(!requests.includes(full), 'the demo encoder needs only the image build');

      await page.getByTestId('model-input').setInputFiles(fixture('full_only.onnx'));
      await waitForText(page, '#model-info', /full_only\.onnx/);
      assert.deepEqual(await engineState(page), { build: 'full', switches: 1 });
      assert.ok(requests.includes(full), 'the full build was fetched');

      // The data set loaded before the switch is still there: the fidelity check embeds its
      // first 16 items in the full build and compares them with onnxruntime's.
      await page.getByTestId('fidelity-file').setInputFiles(fixture('full_only_reference.npy'));
      const text = await waitForText(page, '[data-testid="fidelity-result"]', /^Fidelity (vs|check failed)/);
      const m = text.match(/^Fidelity vs full_only_reference\.npy: 16 items × 8; max-abs difference (\S+), cosine similarity mean (\S+), min (\S+) \(item \d+\)\.$/);
      assert.ok(m, text);
      assert.ok(Number(m[1]) < 1e-4, `max-abs ${m[1]}`);

      await page.getByTestId('run').click({ timeout: RUN_TIMEOUT });
      await waitForState(page, ['results']);
      // Back to the demo encoder: it stays on the full build (no second switch).
      await page.getByTestId('model-input').setInputFiles(DEMO_MODEL);
      await waitForText(page, '#model-info', /encoder\.onnx/);
      assert.deepEqual(await engineState(page), { build: 'full', switches: 1 });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('when the full build cannot be fetched, the model is refused with the reason and the image build keeps what was loaded', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await openPage('?test-hooks=1&cache=0');
    try {
      await page.getByTestId('model-input').setInputFiles(DEMO_MODEL);
      await page.getByTestId('model-options').waitFor({ state: 'visible', timeout: RUN_TIMEOUT });
      await page.getByTestId('data-input').setInputFiles(TINY_DATA);
      await waitForText(page, '#status', /^Data /);
      const info = await page.locator('#model-info').textContent();
      await context.route('**/downstream_full_bg.wasm', (route) => route.abort());

      await page.getByTestId('model-input').setInputFiles(fixture('full_only.onnx'));
      await page.waitForFunction(() => document.body.className === 'error', null, { timeout: RUN_TIMEOUT });
      assert.match(await errorText(page), /^Could not load model “full_only\.onnx”: the page's full build could not be loaded \(.+\); the image build and what was loaded before are kept$/);
      assert.equal(await page.locator('#model-info').textContent(), info, 'the demo encoder is still the model');
      assert.equal((await engineState(page)).build, 'image');
      await page.getByTestId('run').click({ timeout: RUN_TIMEOUT });
      await waitForState(page, ['results']);
    } finally {
      await context.close();
    }
  });
});
