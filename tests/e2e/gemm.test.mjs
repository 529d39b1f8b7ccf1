// The 4x8 f32 matrix kernel (src/gemm.rs, issue 6: speed) that every wasm build registers with
// tract-linalg in place of its 8x8 kernel. In each of the four builds, in this Chromium,
// `gemm_self_check` runs both kernels on products of 1, 7 and 64 steps followed by each of
// the 26 operations a kernel program can hold (none, the scalar, per-row and per-column ones,
// the quantisation scalings, AddUnicast, AddRowColProducts, and LoadTile in place of a
// cleared start) and compares the 8 x 8 results bit for bit; it also checks that tract's
// dispatch picks the 4x8 kernel for an f32 product, and keeps it alone for a product with a
// symbolic number of columns (how a text encoder's token axis reaches it). The page-level checks of the same
// kernel are the fidelity tests against onnxruntime (simd, model, textencoder).
//
// Needs: pkg/ and pkg/relaxed/ (make build).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_TIMEOUT, openPage, requireFile, useBrowser } from './helpers.mjs';

useBrowser();

const BUILDS = ['pkg/downstream.js', 'pkg/downstream_full.js', 'pkg/relaxed/downstream.js', 'pkg/relaxed/downstream_full.js'];

test('each wasm build runs the 4x8 kernel, and it gives tract 8x8 kernel\'s bits on every kernel operation', { timeout: TEST_TIMEOUT }, async () => {
  for (const b of BUILDS) requireFile(b, 'made by make build');
  const { context, page, problems } = await openPage('', { wait: null });
  try {
    for (const build of BUILDS) {
      const r = await page.evaluate(async (path) => {
        const wasm = await import(`/${path}`);
        await wasm.default();
        try {
          return { checked: wasm.gemm_self_check() };
        } catch (e) {
          return { error: String(e.message ?? e) };
        }
      }, build);
      assert.deepEqual(r, { checked: 78 }, build);
    }
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
