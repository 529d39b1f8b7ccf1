// Benchmark page driven by tools/bench.mjs: Downstream's wasm and onnxruntime-web side by
// side in the same page, one measurement per call so the driver can interleave them.
// Our side runs the build the page runs for that model: the image build (pkg/downstream.js,
// what the page loads first) for the image encoders and the probe, the full build
// (pkg/downstream_full.js, which the page loads only when a model needs it) for the text
// encoder, which the image build refuses. Two module instances in one page, each
// initialised once; the full one only when a text section first needs it.
// Like the page's workers, it loads the relaxed-SIMD builds (pkg/relaxed/) where the browser
// validates relaxed SIMD, unless ?simd=baseline.
import * as ort from './node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';
import { pickSimd } from '../www/simd.js';

const SIMD = pickSimd(location.search);
const PKG = SIMD === 'relaxed' ? '../pkg/relaxed/' : '../pkg/';
const { default: init, Encoder, fit_logreg, build_name: imageBuildName } = await import(`${PKG}downstream.js`);
const { default: initFull, TextEmbedder, build_name: fullBuildName } = await import(`${PKG}downstream_full.js`);

const state = {};

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Loads both runtimes on one model and one input set. */
async function setupEmbed(modelUrl, inputUrl, sampleLen) {
  const model = await fetchBytes(modelUrl);
  const inputs = new Float32Array((await fetchBytes(inputUrl)).buffer);
  state.ours = new Encoder(model, modelUrl);
  // onnxruntime-web's default is 1 thread unless the page is cross-origin isolated; the
  // driver passes ?ort-threads=N only on its COOP/COEP run.
  ort.env.wasm.numThreads = Number(new URLSearchParams(location.search).get('ort-threads') ?? 1);
  ort.env.wasm.wasmPaths = new URL('./node_modules/onnxruntime-web/dist/', import.meta.url).href;
  state.ort = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  state.inputs = inputs;
  state.sampleLen = sampleLen;
  state.rows = inputs.length / sampleLen;
  const info = state.ours.info();
  return { rows: state.rows, embedding_dim: info.embedding_dim, build: imageBuildName(), simd: SIMD, ort_threads: ort.env.wasm.numThreads, cross_origin_isolated: self.crossOriginIsolated };
}

let fullReady = null;

/** The full build, initialised on first use only (as the page loads it only when needed). */
function loadFull() {
  fullReady ??= initFull();
  return fullReady;
}

function batchAt(i, batch) {
  const start = (i * batch) % (state.rows - batch + 1);
  return state.inputs.subarray(start * state.sampleLen, (start + batch) * state.sampleLen);
}

/** Images per second of one side over about `ms` milliseconds at `batch`. */
async function embedRate(side, batch, ms) {
  const t0 = performance.now();
  let images = 0;
  let i = 0;
  const name = state.ort.inputNames[0];
  while (performance.now() - t0 < ms) {
    const x = batchAt(i++, batch);
    if (side === 'ours') {
      state.ours.embed(x);
    } else {
      const t = new ort.Tensor('float32', x, [batch, 1, 28, 28]);
      const out = await state.ort.run({ [name]: t });
      out[state.ort.outputNames[0]].dispose?.();
    }
    images += batch;
  }
  return images / ((performance.now() - t0) / 1000);
}

/** Max-abs difference of the two runtimes' embeddings on the first 32 rows. */
async function embedDiff() {
  const x = batchAt(0, 32);
  const a = state.ours.embed(x);
  const name = state.ort.inputNames[0];
  const out = await state.ort.run({ [name]: new ort.Tensor('float32', x, [32, 1, 28, 28]) });
  const b = out[state.ort.outputNames[0]].data;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/**
 * Loads both runtimes on a text encoder (MiniLM) and a JSONL of `{"question": …}` lines, and
 * tokenises the texts once with OUR tokenizer (wasm TextEmbedder.tokenize): the same int64 ids,
 * attention mask and token types go to both sides. Batches are consecutive texts, each padded
 * to its longest text (the same padded length on both sides); tokenising is not timed.
 */
async function setupText(modelUrl, tokenizerUrl, textsUrl) {
  const model = await fetchBytes(modelUrl);
  const tokenizer = await fetchBytes(tokenizerUrl);
  const texts = new TextDecoder().decode(await fetchBytes(textsUrl)).trim().split('\n').map((line) => JSON.parse(line).question);
  await loadFull();
  state.text = new TextEmbedder(model, tokenizer, modelUrl);
  ort.env.wasm.numThreads = Number(new URLSearchParams(location.search).get('ort-threads') ?? 1);
  ort.env.wasm.wasmPaths = new URL('./node_modules/onnxruntime-web/dist/', import.meta.url).href;
  state.textOrt = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  state.texts = texts;
  state.textBatches = {};
  const info = state.text.info();
  state.textInfo = info;
  return {
    texts: texts.length,
    embedding_dim: info.embedding_dim,
    build: fullBuildName(),
    simd: SIMD,
    pooling: info.options.pooling,
    normalize: info.options.normalize,
    ort_inputs: state.textOrt.inputNames,
    ort_output: info.output,
    ort_threads: ort.env.wasm.numThreads,
    cross_origin_isolated: self.crossOriginIsolated,
  };
}

/**
 * The texts cut into batches of `batch` (whole batches only), tokenised once by us. In text
 * order, or with `sorted`, longest first by token count (ties in text order), as
 * TextEncoder::embed orders them before batching on the page and in the CLI.
 */
function textBatches(batch, sorted = false) {
  const key = `${batch}${sorted ? '_sorted' : ''}`;
  if (!state.textBatches[key]) {
    let texts = state.texts;
    if (sorted) {
      const lens = texts.map((text) => {
        const t = state.text.tokenize([text]);
        const len = t.len;
        t.free();
        return len;
      });
      texts = texts.map((text, i) => [text, lens[i], i]).sort((a, b) => b[1] - a[1] || a[2] - b[2]).map(([text]) => text);
    }
    const list = [];
    for (let s = 0; s + batch <= texts.length; s += batch) {
      const t = state.text.tokenize(texts.slice(s, s + batch));
      list.push({ rows: t.rows, len: t.len, ids: t.input_ids, mask: t.attention_mask, types: t.token_type_ids });
      t.free();
    }
    state.textBatches[key] = list;
  }
  return state.textBatches[key];
}

/** onnxruntime-web on one tokenised batch: the token states `[rows, len, dim]`. */
async function ortTokens(b) {
  const shape = [b.rows, b.len];
  const feeds = {};
  for (const name of state.textOrt.inputNames) {
    const data = { input_ids: b.ids, attention_mask: b.mask, token_type_ids: b.types }[name];
    if (!data) throw new Error(`onnxruntime-web: unexpected model input ${name}`);
    feeds[name] = new ort.Tensor('int64', data, shape);
  }
  const name = state.textInfo.output;
  const out = await state.textOrt.run(feeds, [name]);
  return out[name];
}

/**
 * Pools token states as our TextEncoder::embed_tokens does: the mean over the attention mask
 * (in float64), then L2 normalisation when the model's options say so.
 */
function poolTokens(hidden, b) {
  const d = state.textInfo.embedding_dim;
  const out = new Float32Array(b.rows * d);
  const acc = new Float64Array(d);
  for (let r = 0; r < b.rows; r++) {
    acc.fill(0);
    let count = 0;
    for (let t = 0; t < b.len; t++) {
      const m = Number(b.mask[r * b.len + t]);
      if (m === 0) continue;
      count += m;
      const base = (r * b.len + t) * d;
      for (let j = 0; j < d; j++) acc[j] += m * hidden[base + j];
    }
    count = Math.max(count, 1e-9);
    for (let j = 0; j < d; j++) out[r * d + j] = acc[j] / count;
    if (state.textInfo.options.normalize) {
      let ss = 0;
      for (let j = 0; j < d; j++) ss += out[r * d + j] * out[r * d + j];
      const norm = Math.max(Math.sqrt(ss), 1e-12);
      for (let j = 0; j < d; j++) out[r * d + j] = out[r * d + j] / norm;
    }
  }
  return out;
}

/**
 * Sentences per second of one side over about `ms` milliseconds at `batch` (`sorted`: see
 * textBatches): ours is
 * embed_tokens (model + pooling), onnxruntime-web's is its run plus the same pooling in JS.
 */
async function textRate(side, batch, ms, sorted = false) {
  const list = textBatches(batch, sorted);
  const t0 = performance.now();
  let sentences = 0;
  let i = 0;
  // Whole passes over the list, so that every batch length counts once per pass.
  while (performance.now() - t0 < ms || i % list.length !== 0) {
    const b = list[i++ % list.length];
    if (side === 'ours') {
      state.text.embed_tokens(b.ids, b.mask, b.types, b.rows, b.len);
    } else {
      const out = await ortTokens(b);
      poolTokens(out.data, b);
      out.dispose?.();
    }
    sentences += b.rows;
  }
  return sentences / ((performance.now() - t0) / 1000);
}

/**
 * Max-abs difference of the two sides' pooled embeddings (ORT's token states pooled by
 * poolTokens) over every text, in batches of 32 (in text order and sorted) and of 1; also the
 * padded lengths seen.
 */
async function textDiff() {
  let max = 0;
  const lens = new Set();
  for (const [batch, sorted] of [[32, false], [32, true], [1, false]]) {
    for (const b of textBatches(batch, sorted)) {
      const ours = state.text.embed_tokens(b.ids, b.mask, b.types, b.rows, b.len);
      const out = await ortTokens(b);
      const theirs = poolTokens(out.data, b);
      out.dispose?.();
      for (let k = 0; k < ours.length; k++) max = Math.max(max, Math.abs(ours[k] - theirs[k]));
      lens.add(b.len);
    }
  }
  return { max_abs_diff: max, padded_len_min: Math.min(...lens), padded_len_max: Math.max(...lens) };
}

async function setupLogreg(xUrl, yUrl, n, d, train) {
  state.lx = new Float32Array((await fetchBytes(xUrl)).buffer);
  state.ly = new Uint32Array(await fetchBytes(yUrl));
  Object.assign(state, { n, d, train });
  return { n, d };
}

/** Fits our probe on the train rows; seconds, iterations and test accuracy. */
function fitOurs(k, c, tol, maxIter) {
  const { d, train, n } = state;
  const t0 = performance.now();
  const fit = fit_logreg(state.lx.subarray(0, train * d), d, state.ly.subarray(0, train), k, c, tol, maxIter);
  const seconds = (performance.now() - t0) / 1000;
  let correct = 0;
  for (let r = train; r < n; r++) {
    let best = -Infinity;
    let arg = 0;
    for (let j = 0; j < k; j++) {
      let z = fit.intercept[j];
      for (let t = 0; t < d; t++) z += fit.coef[j * d + t] * state.lx[r * d + t];
      if (z > best) { best = z; arg = j; }
    }
    if (arg === state.ly[r]) correct++;
  }
  return { seconds, iterations: fit.iterations, converged: fit.converged, test_accuracy: correct / (n - train) };
}

/** Milliseconds of our encoder alone on all loaded rows, fed in pieces of `step` rows (as the page does). */
function encodeMs(step = 64) {
  const t0 = performance.now();
  for (let r = 0; r < state.rows; r += step) state.ours.embed(state.inputs.subarray(r * state.sampleLen, Math.min(state.rows, r + step) * state.sampleLen));
  return performance.now() - t0;
}

/** Milliseconds of onnxruntime-web over all loaded rows at `batch`. */
async function ortMs(batch = 32) {
  const name = state.ort.inputNames[0];
  const t0 = performance.now();
  for (let r = 0; r < state.rows; r += batch) {
    const n = Math.min(batch, state.rows - r);
    const out = await state.ort.run({ [name]: new ort.Tensor('float32', state.inputs.subarray(r * state.sampleLen, (r + n) * state.sampleLen), [n, 1, 28, 28]) });
    out[state.ort.outputNames[0]].dispose?.();
  }
  return performance.now() - t0;
}

/**
 * The probe stage alone: fits our logistic regression on the embeddings of the first
 * `train` rows of a fixed permutation (labels: `perClass` rows per class, in order).
 */
function probeMs(perClass, train, c = 1, tol = 1e-6) {
  const emb = state.ours.embed(state.inputs);
  const dim = emb.length / state.rows;
  const order = Array.from({ length: state.rows }, (_, i) => (i * 7919) % state.rows);
  const x = new Float32Array(train * dim);
  const y = new Uint32Array(train);
  order.slice(0, train).forEach((r, i) => {
    x.set(emb.subarray(r * dim, (r + 1) * dim), i * dim);
    y[i] = Math.floor(r / perClass);
  });
  const t0 = performance.now();
  const fit = fit_logreg(x, dim, y, Math.ceil(state.rows / perClass), c, tol, 1000);
  return { ms: performance.now() - t0, iterations: fit.iterations };
}

await init();
window.bench = { setupEmbed, embedRate, embedDiff, setupText, textRate, textDiff, setupLogreg, fitOurs, encodeMs, ortMs, probeMs };
document.body.className = 'ready';
