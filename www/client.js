// Main-thread side of the worker protocol: one Promise per request.
//
// Requests:  { id, type: 'loadModel' | 'loadData' | 'runUrls' | 'evaluate' | 'parseReport' | 'items' | 'cancel', ... }
//   runUrls {modelUrl, dataUrl, config, evaluate}: fetch (progress phase 'fetching' {what, url}), load, run.
//   parseReport {text} -> {report}: validated by the core's parse_report.
//   items {indices, sha256} -> {items: [{index, path, bytes}]}: thumbnails of the loaded data set.
// Replies:   { id, type: 'result' | 'error' | 'progress', ... }
// Lifecycle: { type: 'ready' } once wasm is initialised, or { type: 'init-error', message }.

export class WorkerError extends Error {
  constructor(message, { cancelled = false } = {}) {
    super(message);
    this.name = 'WorkerError';
    this.cancelled = cancelled;
  }
}

export class WorkerClient {
  /** @param {URL|string} url module worker script */
  constructor(url) {
    this.worker = new Worker(url, { type: 'module' });
    this.nextId = 1;
    this.pending = new Map();
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.worker.addEventListener('message', (event) => this.onMessage(event.data));
    this.worker.addEventListener('error', (event) => {
      event.preventDefault();
      this.fail(event.message || 'the worker script could not be loaded');
    });
    this.worker.addEventListener('messageerror', () => this.fail('a worker message could not be decoded'));
  }

  fail(message) {
    this.rejectReady(new WorkerError(message));
    for (const { reject } of this.pending.values()) reject(new WorkerError(message));
    this.pending.clear();
  }

  onMessage(msg) {
    if (msg.type === 'ready') {
      this.resolveReady();
      return;
    }
    if (msg.type === 'init-error') {
      this.fail(msg.message);
      return;
    }
    const entry = this.pending.get(msg.id);
    if (!entry) return;
    if (msg.type === 'progress') {
      entry.onProgress?.(msg);
    } else if (msg.type === 'result') {
      this.pending.delete(msg.id);
      entry.resolve(msg);
    } else if (msg.type === 'error') {
      this.pending.delete(msg.id);
      entry.reject(new WorkerError(msg.message, { cancelled: Boolean(msg.cancelled) }));
    }
  }

  /**
   * Sends one request. Returns { id, promise }; the promise resolves with the
   * 'result' message or rejects with a WorkerError.
   */
  request(type, payload = {}, { transfer = [], onProgress } = {}) {
    const id = this.nextId++;
    const promise = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
    });
    this.worker.postMessage({ id, type, ...payload }, transfer);
    return { id, promise };
  }

  /** Asks the worker to stop request `target` at its next step. */
  cancel(target) {
    return this.request('cancel', { target }).promise;
  }
}
