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
import { RELAXED_SIMD_PROBE } from '../../www/simd.js';

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
  const cases = [
    ['where relaxed SIMD validates, every worker loads pkg/relaxed/', '', 'relaxed', 'pkg/relaxed/downstream_bg.wasm'],
    ['?simd=baseline makes every worker load pkg/', '&simd=baseline', 'baseline', 'pkg/downstream_bg.wasm'],
  ];
  for (const [name, query, simd, wasm] of cases) {
    test(`${name}; the embeddings equal onnxruntime's within 1e-4 and a two-worker run completes`, { timeout: TEST_TIMEOUT }, async () => {
      const { context, page, problems, requests } = await openPage(`?test-hooks=1&cache=0&workers=2${query}`);
      try {
        const relaxed = await page.evaluate((bytes) => WebAssembly.validate(new Uint8Array(bytes)), [...RELAXED_SIMD_PROBE]);
        assert.equal(relaxed, true, 'this Chromium does not validate relaxed SIMD: the relaxed builds cannot be tested here');
        const f = await fidelity(page);
        assert.ok(f.maxAbs < 1e-4, `max-abs ${f.maxAbs}`);
        assert.ok(f.minCosine > 0.99999, `min cosine ${f.minCosine}`);
        assert.equal(await page.evaluate(() => window.__downstream.engine.simd), simd);
        await page.getByTestId('run').click({ timeout: RUN_TIMEOUT });
        await waitForState(page, ['results']);
        // Two workers embedded the data (the session worker and a helper), both from one directory.
        assert.ok(await page.evaluate(() => window.__downstream.stats.embedRanges) > 0, 'the helper worker embedded no range');
        assert.deepEqual([...new Set(wasmFetched(requests))], [wasm]);
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });
  }
});
