// Module worker: the only owner of the wasm Session. Protocol in client.js.

const EMBED_BATCH = 64;

let session = null;
let wasmModule = null;
/** SHA-256 of the loaded data set, so item requests can check they ask about the same data. */
let dataSha = null;
/** True when the session's embeddings match the currently loaded model and data. */
let embedded = false;
const cancelled = new Set();
/** Requests run one at a time, in arrival order; 'cancel' bypasses the queue. */
let queue = Promise.resolve();

class Cancelled extends Error {}

const initPromise = (async () => {
  const wasm = await import('../pkg/downstream.js');
  await wasm.default();
  wasmModule = wasm;
  session = new wasm.Session();
})();

initPromise.then(
  () => postMessage({ type: 'ready' }),
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

const yieldToEventLoop = () => new Promise((resolve) => setTimeout(resolve));

function loadModel(bytes, name) {
  const model = plain(session.load_model(new Uint8Array(bytes), name));
  embedded = false;
  return model;
}

function loadData(bytes, name) {
  const data = plain(session.load_data_zip(new Uint8Array(bytes), name));
  embedded = false;
  dataSha = data.sha256 ?? null;
  return data;
}

async function embedAll(id) {
  if (embedded) return;
  const total = session.embed_begin();
  progress(id, { phase: 'embedding', done: 0, total });
  let done = 0;
  while (done < total) {
    await yieldToEventLoop();
    checkCancelled(id);
    done = session.embed_step(EMBED_BATCH);
    progress(id, { phase: 'embedding', done, total });
  }
  embedded = true;
}

async function evaluate(id, config) {
  await embedAll(id);
  checkCancelled(id);
  progress(id, { phase: 'evaluating' });
  await yieldToEventLoop();
  const report = plain(session.evaluate(config));
  return { report, reportJson: session.report_json() };
}

async function fetchBytes(id, what, url) {
  progress(id, { phase: 'fetching', what, url });
  let response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new Error(
      `could not fetch the ${what} from ${url}: the request failed or was blocked (${messageOf(err)}). ` +
        'This page may only fetch files from its own site; check the address.',
    );
  }
  if (!response.ok) {
    throw new Error(`could not fetch the ${what} from ${url}: HTTP ${response.status} ${response.statusText}`.trim());
  }
  return response.arrayBuffer();
}

function baseName(url) {
  return decodeURIComponent(new URL(url).pathname.split('/').pop()) || url;
}

/** Fetches a model and a data set, loads them, and evaluates unless `evaluate` is false. */
async function runUrls(id, { modelUrl, dataUrl, config, evaluate: run = true }) {
  const modelBytes = await fetchBytes(id, 'model', modelUrl);
  checkCancelled(id);
  const dataBytes = await fetchBytes(id, 'data', dataUrl);
  checkCancelled(id);
  progress(id, { phase: 'loading-model' });
  const model = loadModel(modelBytes, baseName(modelUrl));
  progress(id, { phase: 'model-loaded', model });
  await yieldToEventLoop();
  checkCancelled(id);
  progress(id, { phase: 'loading-data' });
  const data = loadData(dataBytes, baseName(dataUrl));
  progress(id, { phase: 'data-loaded', data });
  if (!run) return { model, data };
  return { model, data, ...(await evaluate(id, config)) };
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

async function handle(msg) {
  await initPromise;
  checkCancelled(msg.id);
  switch (msg.type) {
    case 'loadModel':
      return { model: loadModel(msg.bytes, msg.name) };
    case 'loadData':
      return { data: loadData(msg.bytes, msg.name) };
    case 'runDemo':
    case 'runUrls':
      return runUrls(msg.id, msg);
    case 'parseReport':
      return { report: plain(wasmModule.parse_report(msg.text)) };
    case 'items':
      return items(msg.indices, msg.sha256);
    case 'evaluate':
      return evaluate(msg.id, msg.config);
    default:
      throw new Error(`unknown request type ${JSON.stringify(msg.type)}`);
  }
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
      } else {
        postMessage({ id: msg.id, type: 'error', message: messageOf(err) });
      }
    } finally {
      cancelled.delete(msg.id);
    }
  });
});
