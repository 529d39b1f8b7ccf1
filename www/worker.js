// Module worker: the only owner of the wasm Session. Protocol in client.js.

const EMBED_BATCH = 64;

let session = null;
/** True when the session's embeddings match the currently loaded model and data. */
let embedded = false;
const cancelled = new Set();
/** Requests run one at a time, in arrival order; 'cancel' bypasses the queue. */
let queue = Promise.resolve();

class Cancelled extends Error {}

const initPromise = (async () => {
  const wasm = await import('../pkg/downstream.js');
  await wasm.default();
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

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`could not fetch ${url}: HTTP ${response.status} ${response.statusText}`);
  }
  return response.arrayBuffer();
}

function baseName(url) {
  return decodeURIComponent(new URL(url).pathname.split('/').pop());
}

async function runDemo(id, { modelUrl, dataUrl, config }) {
  progress(id, { phase: 'fetching' });
  const [modelBytes, dataBytes] = await Promise.all([fetchBytes(modelUrl), fetchBytes(dataUrl)]);
  checkCancelled(id);
  progress(id, { phase: 'loading-model' });
  const model = loadModel(modelBytes, baseName(modelUrl));
  progress(id, { phase: 'model-loaded', model });
  await yieldToEventLoop();
  checkCancelled(id);
  progress(id, { phase: 'loading-data' });
  const data = loadData(dataBytes, baseName(dataUrl));
  progress(id, { phase: 'data-loaded', data });
  return { model, data, ...(await evaluate(id, config)) };
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
      return runDemo(msg.id, msg);
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
      const result = await handle(msg);
      postMessage({ id: msg.id, type: 'result', ...result });
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
