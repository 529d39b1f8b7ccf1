// Module worker: owns one wasm Session. The page runs one as the session worker (load,
// evaluate, items, reports) and, for parallel embedding, a few more as embedding helpers
// that load the same model and data and embed item ranges, and for the embedding map a
// short-lived one that only runs t-SNE on rows it is given ('tsneRows'). Protocol in client.js.

import { pickSimd } from './simd.js';

/** Items per embed_step / embed_range call; ranges start at multiples of it, so every
 * worker feeds the encoder the same batches and the embeddings are bit-identical. */
const EMBED_STEP = 64;

const TEST_HOOKS = new URL(self.location.href).searchParams.get('test-hooks') === '1';
/** Which wasm build this worker runs (issue 6, download size): 'image' (pkg/downstream.js:
 * the operators of common image encoders, no tokenizer; the page's first download) or
 * 'full' (pkg/downstream_full.js: every page operator and text encoders). The engine starts
 * workers with ?build=full once a model needs it. */
const BUILD = new URL(self.location.href).searchParams.get('build') === 'full' ? 'full' : 'image';

/** Which instruction set the build was compiled for: 'relaxed' (pkg/relaxed/) or 'baseline'
 * (pkg/); see simd.js. */
const SIMD = pickSimd(self.location.search);

let session = null;
let wasmModule = null;
let wasmExports = null;
/** SHA-256 of the loaded data set, so item requests can check they ask about the same data. */
let dataSha = null;
/** Items and embedding width of the loaded data and model, for range checks. */
let dataN = 0;
let embeddingDim = 0;
/** True when the session's embeddings match the currently loaded model and data. */
let embedded = false;
/** Set once the wasm instance has trapped; it is not used again (the page starts a new worker). */
let crashed = null;
const cancelled = new Set();
/** Requests run one at a time, in arrival order; 'cancel' bypasses the queue. */
let queue = Promise.resolve();

class Cancelled extends Error {}

/** A model this (image) build cannot run but the full build may: the engine switches builds
 * and sends the model again. `ops` are the operators the image build does not register. */
class NeedsFullBuild extends Error {
  constructor(message, ops) {
    super(message);
    this.ops = ops;
  }
}

/** In the image build, turns a failed model or head load into NeedsFullBuild when the
 * model uses operators this build does not register; any other failure stays as it is. */
function orFullBuild(err, bytes, name) {
  if (BUILD !== 'image' || isTrap(err)) return err;
  let ops;
  try {
    ops = wasmModule.unregistered_ops(bytes, name);
  } catch {
    return err;
  }
  return ops.length > 0 ? new NeedsFullBuild(messageOf(err), ops) : err;
}

/** Runs `load(u8)` on the model bytes; see orFullBuild. */
function loadingModel(bytes, name, load) {
  const u8 = new Uint8Array(bytes);
  try {
    return load(u8);
  } catch (err) {
    throw orFullBuild(err, u8, name);
  }
}

const initPromise = (async () => {
  const dir = SIMD === 'relaxed' ? '../pkg/relaxed/' : '../pkg/';
  const wasm = await import(`${dir}${BUILD === 'full' ? 'downstream_full.js' : 'downstream.js'}`);
  wasmExports = await wasm.default();
  wasmModule = wasm;
  session = new wasm.Session();
})();

function capabilities() {
  const proto = wasmModule.Session.prototype;
  return {
    embedRange: typeof proto.embed_range === 'function',
    embedItems: typeof proto.embed_items === 'function' && typeof proto.text_order === 'function',
    setEmbeddings: typeof proto.set_embeddings === 'function',
    stageRanges: typeof proto.preprocess_range === 'function',
  };
}

initPromise.then(
  () => postMessage({ type: 'ready', capabilities: capabilities(), testHooks: TEST_HOOKS, simd: SIMD }),
  (err) => postMessage({ type: 'init-error', message: messageOf(err) }),
);

function messageOf(err) {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

/** serde-wasm-bindgen may hand maps over as JS Map; the UI wants plain objects. */
function plain(value) {
  if (value instanceof Map) {
    return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
  }
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

function progress(id, fields) {
  postMessage({ id, type: 'progress', ...fields });
}

function checkCancelled(id) {
  if (cancelled.has(id)) throw new Cancelled('cancelled');
}

/** Lets queued messages (a cancel) in between steps. A MessageChannel task, not setTimeout,
 * which browsers clamp to 4 ms once timers nest. */
const tick = new MessageChannel();
const tickWaiters = [];
tick.port1.onmessage = () => tickWaiters.shift()?.();
const yieldToEventLoop = () =>
  new Promise((resolve) => {
    tickWaiters.push(resolve);
    tick.port2.postMessage(0);
  });

function memoryBytes() {
  return wasmExports?.memory?.buffer?.byteLength ?? 0;
}

/** Loads the model (with `options` {preprocess, output, pooling} when given); the model
 * info carries its preprocessing (the proposal, or the options as applied). */
function loadModel(bytes, name, options) {
  const model = plain(loadingModel(bytes, name, (u8) => (options ? session.load_model_with(u8, name, options) : session.load_model(u8, name))));
  embedded = false;
  embeddingDim = model.embedding_dim;
  const preprocessing = typeof session.model_preprocessing === 'function' ? plain(session.model_preprocessing()) : null;
  return { ...model, preprocessing };
}

/** A zip of class folders; `manifest` ({bytes, name}) is a split manifest given beside it. */
function loadData(bytes, name, manifest) {
  const data = plain(session.load_data_zip(new Uint8Array(bytes), name, manifestBytes(manifest), manifest?.name ?? undefined));
  embedded = false;
  dataSha = data.sha256 ?? null;
  dataN = data.n;
  return data;
}

/** A text encoder (ONNX + tokenizer.json) with `options` (TextOptions); the info's
 * preprocessing.options carries them, so the embedding cache key does too. */
function loadTextModel(bytes, tokenizer, name, options) {
  const model = plain(session.load_text_model(new Uint8Array(bytes), new Uint8Array(tokenizer), name, options ?? null));
  embedded = false;
  embeddingDim = model.embedding_dim;
  return { ...model, text: true, preprocessing: { options: { text: options ?? null, notes: model.notes ?? [] } } };
}

/** A text data set (CSV or JSONL) with its text and label columns. */
function loadTextData(bytes, name, textColumn, labelColumn) {
  const data = plain(session.load_text_data(new Uint8Array(bytes), name, textColumn ?? undefined, labelColumn ?? undefined));
  embedded = false;
  dataSha = data.sha256 ?? null;
  dataN = data.n;
  return { ...data, text: true };
}

/** A folder's files (relative paths, bytes one after another, a length per file) as the
 * data set: class folders, train/ val/ test/ folders or a manifest, as a zip would be. */
function loadFolder(bytes, name, paths, lengths, manifest) {
  const data = plain(session.load_data_files(paths, new Uint8Array(bytes), Uint32Array.from(lengths), name, manifestBytes(manifest), manifest?.name ?? undefined));
  embedded = false;
  dataSha = data.sha256 ?? null;
  dataN = data.n;
  return data;
}

/** The bytes of a manifest given beside the data, or undefined. */
function manifestBytes(manifest) {
  return manifest?.bytes ? new Uint8Array(manifest.bytes) : undefined;
}

/** Precomputed embeddings (.npy + labels, .npz, .csv) as the data set: already embedded. */
function loadEmbeddings(bytes, name, labelsBytes, labelsName) {
  const labels = labelsBytes ? new Uint8Array(labelsBytes) : undefined;
  const data = plain(session.load_embeddings(new Uint8Array(bytes), name, labels, labels ? labelsName : undefined));
  embedded = true;
  dataSha = data.sha256 ?? null;
  dataN = data.n;
  return { ...data, precomputed: true };
}

async function embedAll(id) {
  if (embedded) return;
  const total = session.embed_begin();
  progress(id, { phase: 'embedding', done: 0, total });
  let done = 0;
  while (done < total) {
    await yieldToEventLoop();
    checkCancelled(id);
    done = session.embed_step(EMBED_STEP);
    progress(id, { phase: 'embedding', done, total });
  }
  embedded = true;
}

/** Embeds `n` rows in EMBED_STEP pieces, `piece(s, e)` giving rows [s, e) of them, with
 * progress and a yield between pieces; the rows, the milliseconds spent in the pieces and the
 * wasm memory, ready to transfer. */
async function embedPieces(id, n, piece) {
  const out = new Float32Array(n * embeddingDim);
  let busyMs = 0;
  for (let s = 0; s < n; s += EMBED_STEP) {
    checkCancelled(id);
    const e = Math.min(s + EMBED_STEP, n);
    const t = performance.now();
    out.set(piece(s, e), s * embeddingDim);
    busyMs += performance.now() - t;
    if (e < n) {
      progress(id, { phase: 'embedding', done: e });
      await yieldToEventLoop();
    }
  }
  return { embeddings: out, busyMs, memoryBytes: memoryBytes(), [TRANSFER]: [out.buffer] };
}

/** Embeds items [start, end) in EMBED_STEP pieces aligned to the data set's start. */
async function embedRange(id, start, end) {
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= dataN)) {
    throw new Error(`item range ${start}..${end} is outside the data set's ${dataN} items`);
  }
  if (start % EMBED_STEP !== 0) throw new Error(`item range start ${start} is not a multiple of ${EMBED_STEP}`);
  const rows = await embedPieces(id, end - start, (s, e) => session.embed_range(start + s, start + e));
  return { start, end, ...rows };
}

/** Embeds the text items `items` (a Uint32Array: a piece of text_order at a position that
 * is a multiple of EMBED_STEP) in EMBED_STEP pieces; rows in the given order. */
async function embedItems(id, items) {
  if (!(items instanceof Uint32Array)) throw new Error('embedItems needs a Uint32Array of item indices');
  return embedPieces(id, items.length, (s, e) => session.embed_items(items.subarray(s, e)));
}

/** Benchmark: milliseconds of decode+preprocess (preprocess_range) and of the whole embedding
 * (embed_range) over every item in EMBED_STEP pieces; encode is their difference. */
function stageTimes() {
  let preprocessMs = 0;
  let embedMs = 0;
  for (let s = 0; s < dataN; s += EMBED_STEP) {
    const e = Math.min(s + EMBED_STEP, dataN);
    let t = performance.now();
    session.preprocess_range(s, e);
    preprocessMs += performance.now() - t;
    t = performance.now();
    session.embed_range(s, e);
    embedMs += performance.now() - t;
  }
  return { images: dataN, preprocessMs, embedMs, encodeMs: embedMs - preprocessMs };
}

/** Benchmark: milliseconds of evaluate (split, probe, metrics, intervals, report) and of the
 * probe fit alone (fit_logreg on the same train rows and settings), on embedded data. */
function probeTimes(config) {
  if (!embedded) throw new Error('embed the data set before timing the probe');
  let t = performance.now();
  session.evaluate(config);
  const evaluateMs = performance.now() - t;
  const report = JSON.parse(session.report_json());
  const test = new Set(report.predictions.test_index);
  const classes = report.data.classes;
  const emb = session.embeddings();
  const train = [];
  for (let i = 0; i < dataN; i++) if (!test.has(i)) train.push(i);
  const x = new Float32Array(train.length * embeddingDim);
  const y = new Uint32Array(train.length);
  train.forEach((i, r) => {
    x.set(emb.subarray(i * embeddingDim, (i + 1) * embeddingDim), r * embeddingDim);
    const parts = session.item_path(i).split('/');
    y[r] = classes.indexOf(parts[parts.length - 2]);
  });
  t = performance.now();
  const fit = wasmModule.fit_logreg(x, embeddingDim, y, classes.length, report.probe.c, report.probe.tol, report.probe.max_iter);
  const fitMs = performance.now() - t;
  return { evaluateMs, fitMs, fitIterations: fit.iterations, reportIterations: report.probe.iterations, nTrain: train.length };
}

function setEmbeddings(embeddings) {
  session.set_embeddings(embeddings);
  embedded = true;
  return { memoryBytes: memoryBytes() };
}

/** Least milliseconds between two progress messages of a probe fit, of a protocol's fits,
 * and of t-SNE iterations (the first and last step always go). */
const PROBE_PROGRESS_MS = 50;
const FIT_PROGRESS_MS = 50;
const TSNE_PROGRESS_MS = 100;

/**
 * A step counter for a callback the wasm calls from inside a long computation: `(step,
 * total, post)` runs `post` for the first and last step and otherwise at most every `ms`
 * milliseconds. The worker is busy in wasm until the computation returns, so a cancel cannot
 * arrive meanwhile: the page stops the worker. Test hook (?test-hooks=1 only): `delayMs`
 * slows every step, so a test can cancel mid-way.
 */
function throttled(ms, delayMs) {
  let last = -Infinity;
  return (step, total, post) => {
    const now = performance.now();
    if (step <= 1 || step >= total || now - last >= ms) {
      last = now;
      post();
    }
    if (delayMs > 0) for (const end = performance.now() + delayMs; performance.now() < end; );
  };
}

/** The progress function handed to Session.evaluate: posts {phase: 'probe', iteration,
 * maxIter, loss} for L-BFGS iterations and MLP epochs. */
function probeProgress(id, unit, delayMs) {
  const step = throttled(PROBE_PROGRESS_MS, delayMs);
  return (iteration, loss, maxIter) => {
    step(iteration, maxIter, () => progress(id, { phase: 'probe', iteration, maxIter: maxIter ?? null, loss, unit }));
    return true;
  };
}

/** The fit_progress function handed to Session.evaluate: posts {phase: 'fits', done, total}
 * after each probe fit of a protocol preset. It always answers true (see throttled). */
function fitProgress(id, delayMs) {
  const step = throttled(FIT_PROGRESS_MS, delayMs);
  return (done, total) => {
    step(done, total, () => progress(id, { phase: 'fits', done, total }));
    return true;
  };
}

async function evaluate(id, config, delayMs = 0) {
  await embedAll(id);
  checkCancelled(id);
  progress(id, { phase: 'evaluating' });
  await yieldToEventLoop();
  checkCancelled(id);
  const t0 = performance.now();
  const unit = config?.probe?.kind === 'mlp' ? 'epoch' : 'iteration';
  const report = plain(session.evaluate(config, probeProgress(id, unit, delayMs), fitProgress(id, delayMs)));
  const evaluateMs = performance.now() - t0;
  return { report, reportJson: session.report_json(), evaluateMs, memoryBytes: memoryBytes() };
}

/** Key of the buffers a handler's result transfers instead of copying. */
const TRANSFER = Symbol('transfer');

/** Path and encoded bytes of data-set items, for the gallery's thumbnails. */
function items(indices, sha256) {
  if (dataSha === null) throw new Error('no data set is loaded on this page');
  if (sha256 && sha256 !== dataSha) {
    throw new Error('the loaded data set is not the one this report was made on (its SHA-256 differs)');
  }
  const list = indices.map((index) => ({ index, path: session.item_path(index), bytes: session.item_bytes(index).buffer }));
  return { items: list, [TRANSFER]: list.map((it) => it.bytes) };
}

/** The k nearest training items of test item `index` as the last k-NN evaluation ranked
 * them ([{item_index, similarity, weight, label}]), for the gallery's neighbours. */
function neighboursOf(index, sha256) {
  if (sha256 && sha256 !== dataSha) throw new Error('the loaded data set is not the one this report was made on (its SHA-256 differs)');
  return { neighbours: plain(session.neighbours(index)) };
}

/** The embeddings of the given items (a report's test split) as row-major rows, for the
 * results view's embedding map. Needs this session's embeddings of the report's data. */
function embeddingRows(indices, sha256) {
  if (!embedded || dataSha === null) throw new Error('this page has no embeddings of the report\'s data (run an evaluation first)');
  if (sha256 && sha256 !== dataSha) throw new Error('the loaded data set is not the one this report was made on (its SHA-256 differs)');
  const emb = session.embeddings();
  const dim = dataN > 0 ? emb.length / dataN : 0;
  if (!Number.isInteger(dim) || dim === 0) throw new Error('the embeddings do not fit the loaded data set');
  const x = new Float32Array(indices.length * dim);
  indices.forEach((i, r) => {
    if (!(Number.isInteger(i) && i >= 0 && i < dataN)) throw new Error(`item ${i} is not in the loaded data set`);
    x.set(emb.subarray(i * dim, (i + 1) * dim), r * dim);
  });
  return { x, dim };
}

/** Two-component PCA of the embeddings of the given items, for the embedding map. */
function pcaOf(indices, sha256) {
  const { x, dim } = embeddingRows(indices, sha256);
  return { pca: plain(wasmModule.pca_2d(x, dim)) };
}

/** The embeddings of the given items for a t-SNE worker: {x: Float32Array (transferred), dim}.
 * The session worker only copies them out, so it stays free while t-SNE computes elsewhere. */
function embeddingRowsMessage(indices, sha256) {
  const { x, dim } = embeddingRows(indices, sha256);
  return { x, dim, [TRANSFER]: [x.buffer] };
}

/** Two-dimensional t-SNE of row-major rows `x` (`dim` wide), for the embedding map, in a
 * worker of its own that the page starts for it; posts {phase: 'tsne', done, total} progress
 * (iterations); the page terminates the worker to stop it (see throttled). */
function tsneRows(id, x, dim, perplexity, delayMs) {
  if (!(x instanceof Float32Array)) throw new Error('t-SNE needs the embeddings as a Float32Array');
  const step = throttled(TSNE_PROGRESS_MS, delayMs);
  const onIteration = (done, total) => step(done, total, () => progress(id, { phase: 'tsne', done, total }));
  const started = performance.now();
  const tsne = plain(wasmModule.tsne_2d(x, dim, Number.isFinite(perplexity) ? perplexity : undefined, onIteration));
  return { tsne: { ...tsne, ms: performance.now() - started } };
}

/** Test hook: a real wasm trap. wasm-bindgen's allocator aborts (`unreachable`) on a size
 * no Layout can hold, exactly as a Rust panic would end under panic = "abort". */
function crash() {
  if (!TEST_HOOKS) throw new Error('test hooks are off (add ?test-hooks=1 to the page URL)');
  if (typeof wasmModule.panic_for_tests === 'function') wasmModule.panic_for_tests('crash requested by a test hook');
  const malloc = wasmExports.__wbindgen_malloc_command_export ?? wasmExports.__wbindgen_malloc;
  malloc(0xfffffff0, 8);
  throw new WebAssembly.RuntimeError('unreachable (test hook)');
}

async function handle(msg) {
  await initPromise;
  if (crashed) throw Object.assign(new Error(crashed), { crashedBefore: true });
  checkCancelled(msg.id);
  switch (msg.type) {
    case 'loadModel':
      return { model: loadModel(msg.bytes, msg.name, msg.options) };
    case 'fidelity':
      return { fidelity: plain(session.fidelity(new Uint8Array(msg.bytes), msg.name)) };
    case 'loadData':
      return { data: loadData(msg.bytes, msg.name, msg.manifest) };
    case 'loadTextModel':
      return { model: loadTextModel(msg.bytes, msg.tokenizer, msg.name, msg.options) };
    case 'loadTextData':
      return { data: loadTextData(msg.bytes, msg.name, msg.textColumn, msg.labelColumn) };
    case 'loadFolder':
      return { data: loadFolder(msg.bytes, msg.name, msg.paths, msg.lengths, msg.manifest) };
    case 'loadHead':
      return { head: plain(loadingModel(msg.bytes, msg.name, (u8) => session.load_head(u8, msg.name))) };
    case 'loadEmbeddings':
      return { data: loadEmbeddings(msg.bytes, msg.name, msg.labelsBytes, msg.labelsName) };
    case 'parseReport':
      return { report: plain(wasmModule.parse_report(msg.text)) };
    case 'items':
      return items(msg.indices, msg.sha256);
    case 'neighbours':
      return neighboursOf(msg.index, msg.sha256);
    case 'pca':
      return pcaOf(msg.indices, msg.sha256);
    case 'embeddingRows':
      return embeddingRowsMessage(msg.indices, msg.sha256);
    case 'tsneRows':
      return tsneRows(msg.id, msg.x, msg.dim, msg.perplexity, TEST_HOOKS ? Number(msg.delayMs) || 0 : 0);
    case 'compare':
      return { comparison: plain(wasmModule.compare_reports(msg.a, msg.b, msg.resamples, msg.seed)) };
    case 'evaluate':
      return evaluate(msg.id, msg.config, TEST_HOOKS ? Number(msg.probeDelayMs) || 0 : 0);
    case 'embedRange':
      return embedRange(msg.id, msg.start, msg.end);
    case 'textOrder': {
      const order = session.text_order();
      return { order, [TRANSFER]: [order.buffer] };
    }
    case 'embedItems':
      return embedItems(msg.id, msg.items);
    case 'embedAll': {
      embedded = false;
      await embedAll(msg.id);
      const embeddings = session.embeddings();
      return { embeddings, memoryBytes: memoryBytes(), [TRANSFER]: [embeddings.buffer] };
    }
    case 'setEmbeddings':
      return setEmbeddings(msg.embeddings);
    case 'stageTimes':
      return stageTimes();
    case 'probeTimes':
      return probeTimes(msg.config);
    case 'memory':
      return { memoryBytes: memoryBytes() };
    case '__crash':
      return crash();
    default:
      throw new Error(`unknown request type ${JSON.stringify(msg.type)}`);
  }
}

/** A trap (Rust panic, out of memory, stack overflow) leaves the instance unusable. */
function isTrap(err) {
  return err instanceof WebAssembly.RuntimeError || (err instanceof RangeError && /call stack|memory/i.test(err.message));
}

self.addEventListener('message', (event) => {
  const msg = event.data;
  if (msg.type === 'cancel') {
    cancelled.add(msg.target);
    postMessage({ id: msg.id, type: 'result' });
    return;
  }
  queue = queue.then(async () => {
    try {
      const { [TRANSFER]: transfer = [], ...result } = (await handle(msg)) ?? {};
      postMessage({ id: msg.id, type: 'result', ...result }, transfer);
    } catch (err) {
      if (err instanceof Cancelled) {
        postMessage({ id: msg.id, type: 'error', cancelled: true, message: 'Cancelled.' });
      } else if (err.crashedBefore || isTrap(err)) {
        crashed ??= `${err.name}: ${err.message}`;
        postMessage({ id: msg.id, type: 'error', crashed: true, message: crashed });
        postMessage({ type: 'crashed', message: crashed });
      } else if (err instanceof NeedsFullBuild) {
        postMessage({ id: msg.id, type: 'error', message: err.message, needsFullBuild: true, ops: err.ops });
      } else {
        postMessage({ id: msg.id, type: 'error', message: messageOf(err) });
      }
    } finally {
      cancelled.delete(msg.id);
    }
  });
});
