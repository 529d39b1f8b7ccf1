// The page's relaxed-SIMD builds (issue 6, speed): `make build` makes every wasm build twice,
// with `+simd128` (pkg/) and with `+simd128,+relaxed-simd` (pkg/relaxed/, fused multiply-add
// in tract's matrix kernels). Each worker loads the relaxed one when WebAssembly.validate
// accepts a relaxed-simd instruction (Debian's Chromium does), the other otherwise;
// ?simd=baseline forces the other. Both must give onnxruntime's embeddings: the reference is
// tests/fixtures/models/demo_reference.npy (onnxruntime on the first 16 demo digits, made by
// tools/make_model_fixtures.py).
//
// Needs: pkg/ and pkg/relaxed/ (make build).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO_MODEL, RUN_TIMEOUT, TEST_TIMEOUT, openPage, requireFile, server, useBrowser, waitForState } from './helpers.mjs';

useBrowser();

const DIGITS = () => requireFile('assets/demo/digits.zip', 'a committed demo asset');
const REFERENCE = () => requireFile('tests/fixtures/models/demo_reference.npy', 'a committed fixture (tools/make_model_fixtures.py)');

async function fidelity(page) {
  await page.getByTestId('model-input').setInputFiles(DEMO_MODEL);
  await page.getByTestId('model-options').waitFor({ state: 'visible', timeout: RUN_TIMEOUT });
  await page.getByTestId('data-input').setInputFiles(DIGITS());
  await page.waitForFunction(() => /^Data /.test(document.getElementById('status').textContent), null, { timeout: RUN_TIMEOUT });
  await page.getByTestId('fidelity-file').setInputFiles(REFERENCE());
  await page.waitForFunction(
    () => /^Fidelity (vs|check failed)/.test(document.querySelector('[data-testid="fidelity-result"]')?.textContent ?? ''),
    null,
    { timeout: RUN_TIMEOUT, polling: 100 },
  );
  const text = await page.getByTestId('fidelity-result').textContent();
  const m = text.match(/^Fidelity vs demo_reference\.npy: 16 items × 64; max-abs difference (\S+), cosine similarity mean (\S+), min (\S+) \(item \d+\)\.$/);
  assert.ok(m, text);
  return { maxAbs: Number(m[1]), minCosine: Number(m[3]) };
}

/** The wasm files the page fetched, relative to the server root. */
const wasmFetched = (requests) => requests.filter((u) => u.endsWith('.wasm')).map((u) => u.slice(server.url.length)).sort();

describe('relaxed-SIMD and baseline wasm builds', () => {
  test('where relaxed SIMD validates, every worker loads pkg/relaxed/, and the embeddings equal onnxruntime\'s', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page, problems, requests } = await openPage('?test-hooks=1&cache=0&workers=2');
    try {
      // A module with one i8x16.relaxed_swizzle, as the worker probes.
      const relaxed = await page.evaluate(() => WebAssembly.validate(new Uint8Array([
        0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11,
      ])));
      assert.equal(relaxed, true, 'this Chromium does not validate relaxed SIMD: the relaxed builds cannot be tested here');
      const f = await fidelity(page);
      assert.ok(f.maxAbs < 1e-4, `max-abs ${f.maxAbs}`);
      assert.ok(f.minCosine > 0.99999, `min cosine ${f.minCosine}`);
      assert.equal(await page.evaluate(() => window.__downstream.engine.simd), 'relaxed');
      await page.getByTestId('run').click({ timeout: RUN_TIMEOUT });
      await waitForState(page, ['results']);
      // Two workers embedded the data (the session worker and a helper), both on pkg/relaxed/.
      assert.ok(await page.evaluate(() => window.__downstream.stats.embedRanges) > 0, 'the helper worker embedded no range');
      assert.deepEqual([...new Set(wasmFetched(requests))], ['pkg/relaxed/downstream_bg.wasm']);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('?simd=baseline loads pkg/ in every worker, with the same embeddings within 1e-4 and a full run', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page, problems, requests } = await openPage('?test-hooks=1&cache=0&workers=2&simd=baseline');
    try {
      const f = await fidelity(page);
      assert.ok(f.maxAbs < 1e-4, `max-abs ${f.maxAbs}`);
      assert.ok(f.minCosine > 0.99999, `min cosine ${f.minCosine}`);
      assert.equal(await page.evaluate(() => window.__downstream.engine.simd), 'baseline');
      await page.getByTestId('run').click({ timeout: RUN_TIMEOUT });
      await waitForState(page, ['results']);
      assert.ok(await page.evaluate(() => window.__downstream.stats.embedRanges) > 0, 'the helper worker embedded no range');
      assert.deepEqual([...new Set(wasmFetched(requests))], ['pkg/downstream_bg.wasm']);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
