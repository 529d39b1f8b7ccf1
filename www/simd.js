// Which wasm instruction set a worker (or the bench page) loads (issue 6, speed): `make build`
// makes every build twice, with `+simd128` (pkg/) and with `+simd128,+relaxed-simd`
// (pkg/relaxed/: fused multiply-add in tract's matrix kernels).

/** A module with one function using one relaxed-simd instruction (i8x16.relaxed_swizzle):
 * it validates only where the engine has relaxed SIMD (Chrome and Edge since 114, for instance). */
export const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0,
  65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11,
]);

/** 'relaxed' where the engine validates relaxed SIMD, else 'baseline'; `?simd=baseline` in
 * `search` (a URL's query string) forces the baseline (tests, and A/B measurements). */
export function pickSimd(search) {
  return new URLSearchParams(search).get('simd') !== 'baseline' && WebAssembly.validate(RELAXED_SIMD_PROBE)
    ? 'relaxed'
    : 'baseline';
}
