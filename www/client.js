// Main-thread side of the worker protocol: one Promise per request.
//
// Requests:  { id, type, ... } with type
//   loadModel {bytes, name} -> {model};  loadData {bytes, name} -> {data}
//   loadHead {bytes, name} -> {head}: an ONNX head (embeddings [N, D] -> class scores [N, K]) for probe 'onnx_head'
//   evaluate {config} -> {report, reportJson, evaluateMs, memoryBytes} (embeds first unless embeddings are set;
//     progress phases 'embedding' {done, total}, 'evaluating', then 'probe' {iteration, maxIter, loss, unit}
//     per L-BFGS iteration or MLP epoch, throttled; the fit itself cannot be cancelled by message, so the
//     engine stops and restarts the worker; test hook: probeDelayMs slows every probe step)
//   embedRange {start, end} -> {start, end, embeddings: Float32Array, memoryBytes} (progress 'embedding' {done})
//   textOrder -> {order: Uint32Array}: a text data set's items, longest first (the pool embeds texts so)
//   embedItems {items: Uint32Array} -> {embeddings: Float32Array, busyMs, memoryBytes}: those text items,
//     rows in the given order (a piece of textOrder at a multiple of 64; progress 'embedding' {done})
//   embedAll -> {embeddings: Float32Array, memoryBytes}: embeds everything in this worker (embed_step)
//   setEmbeddings {embeddings: Float32Array} -> {memoryBytes}: embeddings of the loaded data, evaluate follows
//   parseReport {text} -> {report}: validated by the core's parse_report
//   items {indices, sha256} -> {items: [{index, path, bytes}]}: thumbnails of the loaded data set
//   neighbours {index, sha256} -> {neighbours: [{item_index, similarity, weight, label}]}: the k nearest
//     training items of a test item as the last hold-out k-NN evaluation ranked them (else an error)
//   embeddingRows {indices, sha256} -> {x: Float32Array, dim}: the session's embeddings of those items
//   tsneRows {x, dim, perplexity?} -> {tsne: {coords, perplexity, iterations, kl_divergence, n, ms, ...}}
//     (progress 'tsne' {done, total} per iteration, throttled; run in a worker of its own, which the
//     page terminates to stop it; test hook: delayMs slows every iteration)
//   stageTimes -> {images, preprocessMs, embedMs, encodeMs} (benchmark; needs preprocess_range)
//   probeTimes {config} -> {evaluateMs, fitMs, fitIterations, reportIterations, nTrain} (benchmark)
//   memory -> {memoryBytes};  cancel {target};  __crash (only with ?test-hooks=1 on the worker URL)
// Replies:   { id, type: 'result' | 'error' | 'progress', ... }; errors carry cancelled or crashed.
// Lifecycle: { type: 'ready', capabilities } once wasm is initialised, { type: 'init-error', message },
//   { type: 'crashed', message } when the wasm instance trapped (the worker is then useless).

export class WorkerError extends Error {
  constructor(message, { cancelled = false, crashed = false, needsFullBuild = false, ops = [] } = {}) {
    super(message);
    this.name = 'WorkerError';
    this.cancelled = cancelled;
    this.crashed = crashed;
    /** The image build cannot run this model (operators `ops`); the full build may. */
    this.needsFullBuild = needsFullBuild;
    this.ops = ops;
  }
}

export class WorkerClient {
  /**
   * @param {URL|string} url module worker script
   * @param {{onCrash?: (message: string) => void}} options onCrash runs once if the worker dies after start-up
   */
  constructor(url, { onCrash } = {}) {
    this.worker = new Worker(url, { type: 'module' });
    this.nextId = 1;
    this.pending = new Map();
    this.onCrash = onCrash;
    this.started = false;
    this.dead = null;
    this.capabilities = {};
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.worker.addEventListener('message', (event) => this.onMessage(event.data));
    this.worker.addEventListener('error', (event) => {
      event.preventDefault();
      if (this.started) this.crash(event.message || 'the worker stopped');
      else this.fail(event.message || 'the worker script could not be loaded');
    });
    this.worker.addEventListener('messageerror', () => this.fail('a worker message could not be decoded'));
  }

  fail(message, { crashed = false } = {}) {
    this.rejectReady(new WorkerError(message));
    for (const { reject } of this.pending.values()) reject(new WorkerError(message, { crashed }));
    this.pending.clear();
  }

  /** The instance is gone: every pending request fails as crashed, and onCrash runs once. */
  crash(message) {
    if (this.dead !== null) return;
    this.dead = message;
    this.fail(message, { crashed: true });
    this.worker.terminate();
    this.onCrash?.(message);
  }

  terminate() {
    this.dead ??= 'terminated';
    this.fail('the worker was stopped', { crashed: true });
    this.worker.terminate();
  }

  onMessage(msg) {
    if (msg.type === 'ready') {
      this.started = true;
      this.capabilities = msg.capabilities ?? {};
      /** The wasm instruction set the worker loaded: 'relaxed' or 'baseline'. */
      this.simd = msg.simd;
      this.resolveReady(this.capabilities);
      return;
    }
    if (msg.type === 'init-error') {
      this.fail(msg.message);
      return;
    }
    if (msg.type === 'crashed') {
      this.crash(msg.message);
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
      entry.reject(
        new WorkerError(msg.message, {
          cancelled: Boolean(msg.cancelled),
          crashed: Boolean(msg.crashed),
          needsFullBuild: Boolean(msg.needsFullBuild),
          ops: msg.ops ?? [],
        }),
      );
    }
  }

  /**
   * Sends one request. Returns { id, promise }; the promise resolves with the
   * 'result' message or rejects with a WorkerError.
   */
  request(type, payload = {}, { transfer = [], onProgress } = {}) {
    const id = this.nextId++;
    if (this.dead !== null) {
      return { id, promise: Promise.reject(new WorkerError(this.dead, { crashed: true })) };
    }
    const promise = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
    });
    this.worker.postMessage({ id, type, ...payload }, transfer);
    return { id, promise };
  }

  /** Asks the worker to stop request `target` at its next step. */
  cancel(target) {
    return this.request('cancel', { target }).promise.catch(() => {});
  }
}
