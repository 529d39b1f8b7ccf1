// The page's compute engine: the session worker (model, data, probe, report), a pool of
// embedding helpers that embed disjoint item ranges in parallel, the embedding cache, and
// recovery from a wasm trap. The main thread keeps the loaded files' bytes so a crashed
// worker can be replaced without the user choosing them again.

import { WorkerClient, WorkerError } from './client.js';
import { cacheKey, clearCache, getEmbeddings, putEmbeddings, warmUp } from './cache.js';

/** Must equal EMBED_STEP in worker.js: ranges start at its multiples. */
const EMBED_STEP = 64;
/** Range requests per worker, roughly, so the pool balances and progress moves; ranges
 * are at least MIN_CHUNK items so message overhead stays small next to the work. */
const CHUNKS_PER_WORKER = 8;
const MIN_CHUNK = 4 * EMBED_STEP;
const MAX_CHUNK = 16 * EMBED_STEP;

/** Workers to embed with: ?workers=N, else min(hardwareConcurrency, 4). */
export function poolSize(search = globalThis.location?.search ?? '', cores = globalThis.navigator?.hardwareConcurrency) {
  const asked = new URLSearchParams(search).get('workers');
  if (asked !== null && /^\d+$/.test(asked)) return Math.min(16, Math.max(1, Number(asked)));
  return Math.max(1, Math.min(cores || 1, 4));
}

const cancelledError = () => new WorkerError('Cancelled.', { cancelled: true });

export class Engine {
  /**
   * @param {object} options
   * @param {number} options.workers pool size, the session worker included
   * @param {boolean} options.testHooks workers accept '__crash'
   * @param {boolean} options.cache use the IndexedDB embedding cache
   * @param {(message: string) => void} options.onCrash the session worker trapped; recovery has started
   * @param {(result: {error?: Error}) => void} options.onRecovered recovery finished (or failed)
   */
  constructor({ workers = 1, testHooks = false, cache = true, build = 'image', simd = 'auto', onCrash, onRecovered, onBuildSwitch } = {}) {
    this.workerUrl = new URL('./worker.js', import.meta.url);
    if (testHooks) this.workerUrl.searchParams.set('test-hooks', '1');
    if (build === 'full') this.workerUrl.searchParams.set('build', 'full');
    // 'auto': each worker loads the relaxed-SIMD build where the browser validates it.
    if (simd === 'baseline') this.workerUrl.searchParams.set('simd', 'baseline');
    this.onBuildSwitch = onBuildSwitch;
    this.size = workers;
    this.useCache = cache;
    this.onCrash = onCrash;
    this.onRecovered = onRecovered;
    /** Loaded files, kept for helpers and recovery: {bytes, name, info, gen}. */
    this.model = null;
    this.data = null;
    /** The ONNX head for the onnx_head probe: {bytes, name, info}, or null. */
    this.head = null;
    this.gen = 0;
    /** Whether the session worker holds embeddings of the current model and data. */
    this.embedded = false;
    this.helpers = [];
    this.recovering = null;
    /** Where the session worker's embeddings can be had again after a restart:
     * {gen, key, stored: Promise<boolean> (in the cache), copy: Float32Array | null}. */
    this.saved = null;
    /** Test hook: milliseconds the worker waits in every probe progress step (?test-hooks=1). */
    this.testHooks = testHooks;
    this.probeDelayMs = 0;
    /** Test hook: milliseconds the t-SNE worker waits in every iteration (?test-hooks=1). */
    this.tsneDelayMs = 0;
    /** Counters and timings for tests and the benchmark. */
    this.stats = { embedRanges: 0, embedSteps: 0, crashes: 0, recoveries: 0, restarts: 0, buildSwitches: 0, wasmBytes: {}, lastRun: null };
    this.main = this.startSessionWorker();
    this.ready = this.main.ready;
    if (cache) warmUp();
  }

  startSessionWorker() {
    return new WorkerClient(this.workerUrl, { onCrash: (message) => this.recover(message) });
  }

  /** Replaces a trapped session worker and reloads the model and data it had. */
  recover(message) {
    this.stats.crashes += 1;
    this.onCrash?.(message);
    this.restart().then(
      () => {
        this.stats.recoveries += 1;
        this.onRecovered?.({});
      },
      (error) => this.onRecovered?.({ error }),
    );
  }

  /**
   * Stops the session worker (a trapped one, or one busy in a probe fit that cannot hear a
   * cancel) and starts a fresh one with the model, data and embeddings it had. The
   * embeddings come back from the cache or the engine's copy, so the next run does not
   * embed again. Resolves when the new worker is ready.
   */
  restart() {
    const restore = this.embedded;
    this.embedded = false;
    this.main.terminate();
    this.stats.restarts += 1;
    this.recovering = (async () => {
      this.main = this.startSessionWorker();
      await this.main.ready;
      if (this.model) await this.sendModel(this.main, this.model);
      if (this.data) await this.sendData(this.main, this.data);
      if (this.head) await this.send(this.main, 'loadHead', this.head);
      if (this.data?.precomputed) this.embedded = true;
      if (restore) await this.restoreEmbeddings();
    })();
    return this.recovering;
  }

  /** The instruction set of the session worker's wasm: 'relaxed' (pkg/relaxed/, fused
   * multiply-add) or 'baseline' (pkg/, `+simd128`); undefined until it is ready. */
  get simd() {
    return this.main.simd;
  }

  /** The wasm build the workers run: 'image' (the page's first download) or 'full'. */
  get build() {
    return this.workerUrl.searchParams.get('build') === 'full' ? 'full' : 'image';
  }

  /**
   * Moves every worker to the full wasm build (issue 6: the image build, the page's first
   * download, has no tokenizer and only the operators of common image encoders). The
   * session worker restarts on it with the model, data, head and embeddings it had; helpers
   * are dropped and start on the full build when next needed. `reason` ({text} or {ops})
   * goes to onBuildSwitch. Nothing happens when the full build is already in use. If the
   * full build cannot start, the image build comes back with what was loaded and this throws.
   */
  async useFullBuild(reason) {
    if (this.build === 'full') return;
    await this.recovering;
    this.workerUrl.searchParams.set('build', 'full');
    this.stats.buildSwitches += 1;
    this.onBuildSwitch?.({ build: 'full', ...reason });
    for (const helper of this.helpers) helper.client.terminate();
    this.helpers = [];
    try {
      await this.restart();
    } catch (err) {
      // The full build did not start (its download failed, say): back to the image build
      // with what was loaded, so nothing is lost, and say why.
      this.workerUrl.searchParams.delete('build');
      await this.restart();
      throw new WorkerError(`the page's full build could not be loaded (${err.message}); the image build and what was loaded before are kept`);
    }
  }

  /**
   * Runs `load(client)` (a model or head load) on the session worker. When the image build
   * cannot run the model (it uses operators that build leaves out), switches to the full
   * build and loads it there; the full build's answer, success or error, is final.
   */
  async loadingModel(load) {
    const main = await this.sessionWorker();
    try {
      return await load(main);
    } catch (err) {
      if (!err.needsFullBuild || this.build === 'full') throw err;
      await this.useFullBuild({ ops: err.ops });
      return load(await this.sessionWorker());
    }
  }

  /** Installs the saved embeddings of the current model and data in the session worker, if any. */
  async restoreEmbeddings() {
    const saved = this.saved;
    if (!saved || saved.gen !== this.gen || !this.model || !this.data) return;
    const n = this.data.info.n;
    const dim = this.model.info.embedding_dim;
    let embeddings = saved.copy ? saved.copy.slice() : null;
    if (!embeddings && (await saved.stored)) embeddings = await getEmbeddings(saved.key, { n, dim });
    if (!embeddings || saved.gen !== this.gen) return;
    await this.main.request('setEmbeddings', { embeddings }, { transfer: [embeddings.buffer] }).promise;
    this.embedded = true;
  }

  async sessionWorker() {
    await this.recovering;
    return this.main;
  }

  /** Sends a copy of file bytes (the original stays here) to a worker. */
  send(client, type, file) {
    const bytes = file.bytes.slice(0);
    return client.request(type, { bytes, name: file.name, options: file.options ?? null }, { transfer: [bytes] }).promise;
  }

  /** Sends the loaded model (an image encoder, or a text encoder with its tokenizer) to a worker. */
  sendModel(client, model) {
    if (!model.text) return this.send(client, 'loadModel', model);
    const bytes = model.bytes.slice(0);
    const tokenizer = model.tokenizer.bytes.slice(0);
    return client.request('loadTextModel', { bytes, tokenizer, name: model.name, options: model.options ?? null }, { transfer: [bytes, tokenizer] }).promise;
  }

  /**
   * Loads a text encoder: ONNX bytes, its tokenizer.json {bytes, name}, and TextOptions
   * ({max_length, pooling: 'mean'|'cls'|'none', normalize, batch_size, output, shapes}).
   * Kept for helpers and restarts; a text data set goes with it.
   */
  async loadTextModel(bytes, tokenizer, name, options = null) {
    await this.useFullBuild({ text: true });
    const main = await this.sessionWorker();
    const file = { bytes, tokenizer, name, options, text: true };
    const { model } = await this.sendModel(main, file);
    this.model = { ...file, info: model, gen: ++this.gen };
    this.embedded = false;
    if (this.data?.precomputed) this.data = null;
    return model;
  }

  /** Loads a text data set (CSV or JSONL; columns {text, label}, default text and label). */
  async loadTextData(bytes, name, columns = {}) {
    const main = await this.sessionWorker();
    const file = { bytes, name, columns, text: true };
    const { data } = await this.sendData(main, file);
    this.data = { ...file, info: data, gen: ++this.gen };
    this.embedded = false;
    return data;
  }

  /** Loads an ONNX head (embeddings to class scores) for the 'onnx_head' probe; kept for a restart. */
  async loadHead(bytes, name) {
    const { head } = await this.loadingModel((client) => this.send(client, 'loadHead', { bytes, name }));
    this.head = { bytes, name, info: head };
    return head;
  }

  async loadModel(bytes, name) {
    const { model } = await this.loadingModel((client) => this.send(client, 'loadModel', { bytes, name }));
    this.model = { bytes, name, info: model, gen: ++this.gen };
    this.embedded = false;
    // The session drops precomputed embeddings when a model arrives: images come next.
    if (this.data?.precomputed) this.data = null;
    return model;
  }

  /**
   * Reloads the current model with `options` ({preprocess, output, pooling}); helpers
   * and a restarted worker load it with them too. The embeddings (and their cache key,
   * which includes the options) start over. A failure keeps the model as it was.
   */
  async setModelOptions(options) {
    if (!this.model) throw new Error('load a model first');
    const file = { bytes: this.model.bytes, name: this.model.name, options };
    const { model } = await this.loadingModel((client) => this.send(client, 'loadModel', file));
    this.model = { ...file, info: model, gen: ++this.gen };
    this.embedded = false;
    return model;
  }

  /** Compares the model's embeddings of the first N items with reference embeddings (.npy [N, D]). */
  async fidelity(bytes, name) {
    const main = await this.sessionWorker();
    return (await main.request('fidelity', { bytes, name }, { transfer: [bytes] }).promise).fidelity;
  }

  /** Sends loaded data (a zip, a folder's files, or precomputed embeddings with their labels) to a worker. */
  sendData(client, data) {
    if (data.text) {
      const bytes = data.bytes.slice(0);
      const { text: textColumn = null, label: labelColumn = null } = data.columns ?? {};
      return client.request('loadTextData', { bytes, name: data.name, textColumn, labelColumn }, { transfer: [bytes] }).promise;
    }
    // A split manifest given beside a zip or folder goes with it (a copy of its bytes).
    const manifest = data.manifest ? { bytes: data.manifest.bytes.slice(0), name: data.manifest.name } : null;
    if (data.folder) {
      const bytes = data.bytes.slice(0);
      return client.request('loadFolder', { bytes, name: data.name, paths: data.paths, lengths: data.lengths, manifest }, { transfer: [bytes] }).promise;
    }
    if (!data.precomputed) {
      const bytes = data.bytes.slice(0);
      return client.request('loadData', { bytes, name: data.name, manifest }, { transfer: [bytes] }).promise;
    }
    const bytes = data.bytes.slice(0);
    const labelsBytes = data.labels ? data.labels.bytes.slice(0) : null;
    const transfer = labelsBytes ? [bytes, labelsBytes] : [bytes];
    return client.request('loadEmbeddings', { bytes, name: data.name, labelsBytes, labelsName: data.labels?.name ?? null }, { transfer }).promise;
  }

  /**
   * Loads precomputed embeddings (.npy with labels {bytes, name}, .npz or .csv) as the data
   * set. They need no model and no embedding: the next run evaluates them as they are.
   */
  async loadEmbeddings(bytes, name, labels = null) {
    const main = await this.sessionWorker();
    const file = { bytes, name, labels, precomputed: true };
    const { data } = await this.sendData(main, file);
    this.data = { ...file, info: data, gen: ++this.gen };
    this.embedded = true;
    return data;
  }

  async loadData(bytes, name) {
    const main = await this.sessionWorker();
    const file = { bytes, name, manifest: this.manifest };
    const { data } = await this.sendData(main, file);
    this.data = { ...file, info: data, gen: ++this.gen };
    this.embedded = false;
    return data;
  }

  /**
   * Loads a folder's files ([{path, bytes: ArrayBuffer}], paths relative to the folder) as
   * the data set. The bytes are kept here, one after another, for helpers and recovery.
   */
  async loadFolder(files, name) {
    const main = await this.sessionWorker();
    const lengths = files.map((f) => f.bytes.byteLength);
    const all = new Uint8Array(lengths.reduce((a, b) => a + b, 0));
    let at = 0;
    for (const f of files) {
      all.set(new Uint8Array(f.bytes), at);
      at += f.bytes.byteLength;
    }
    const file = { bytes: all.buffer, name, paths: files.map((f) => f.path), lengths, folder: true, manifest: this.manifest };
    const { data } = await this.sendData(main, file);
    this.data = { ...file, info: data, gen: ++this.gen };
    this.embedded = false;
    return data;
  }

  /**
   * A split manifest given beside the data ({bytes, name}: CSV or JSON path,label,split), or
   * null to stop using one. It applies to the zip or folder loaded next, and the loaded zip or
   * folder is read again with it now: returns that data's info, or null when none is loaded.
   * A failure keeps the previous manifest and data.
   */
  async setManifest(manifest) {
    const data = this.data;
    if (!data || data.text || data.precomputed) {
      this.manifest = manifest;
      return null;
    }
    const main = await this.sessionWorker();
    const file = { ...data, manifest };
    const { data: info } = await this.sendData(main, file);
    this.manifest = manifest;
    this.data = { ...file, info, gen: ++this.gen };
    this.embedded = false;
    return info;
  }

  async parseReport(text) {
    return (await (await this.sessionWorker()).request('parseReport', { text }).promise).report;
  }

  async items(indices, sha256) {
    return (await (await this.sessionWorker()).request('items', { indices, sha256 }).promise).items;
  }

  /** The k nearest training items of a test item, as the last k-NN evaluation ranked them. */
  async neighbours(index, sha256) {
    return (await (await this.sessionWorker()).request('neighbours', { index, sha256 }).promise).neighbours;
  }

  /**
   * t-SNE of the given items' embeddings ({perplexity, onProgress} as the worker's tsneRows)
   * in a short-lived worker of its own: the session worker only copies the rows out, so runs,
   * thumbnails and neighbours go on while t-SNE computes. Returns {promise, stop}; stop()
   * terminates only that worker, and the promise then rejects as cancelled.
   */
  tsne(indices, sha256, { perplexity, onProgress } = {}) {
    let stopped = false;
    let client = null;
    const promise = (async () => {
      const { x, dim } = await (await this.sessionWorker()).request('embeddingRows', { indices, sha256 }).promise;
      if (stopped) throw cancelledError();
      client = new WorkerClient(this.workerUrl);
      this.stats.tsneWorkers = (this.stats.tsneWorkers ?? 0) + 1;
      try {
        await client.ready;
        const delayMs = this.testHooks ? this.tsneDelayMs : 0;
        const request = client.request('tsneRows', { x, dim, perplexity, delayMs }, { transfer: [x.buffer], onProgress });
        return (await request.promise).tsne;
      } catch (err) {
        if (stopped) throw cancelledError();
        throw err;
      } finally {
        client.terminate();
      }
    })();
    const stop = () => {
      if (stopped) return;
      stopped = true;
      client?.terminate();
    };
    return { promise, stop };
  }

  clearCache() {
    return clearCache();
  }

  /** Test hook: makes the session worker trap. */
  async crash() {
    return (await this.sessionWorker()).request('__crash').promise;
  }

  /**
   * Embeds (or takes embeddings from the cache), then trains and scores. Returns
   * { promise, cancel }; the promise resolves to the worker's evaluate result plus
   * `run` {embeddings: 'computed'|'cache'|'reused', workers, embedMs, evaluateMs, ...}.
   */
  evaluate(config, { onProgress } = {}) {
    const job = { cancelled: false, inflight: new Set() };
    const check = () => {
      if (job.cancelled) throw cancelledError();
    };
    const promise = (async () => {
      const main = await this.sessionWorker();
      check();
      const caps = main.capabilities;
      const run = { embeddings: 'reused', workers: 0, embedMs: 0 };
      const t0 = performance.now();
      if (!this.embedded && this.model && this.data && caps.embedRange && caps.setEmbeddings) {
        const gen = this.gen;
        const n = this.data.info.n;
        const dim = this.model.info.embedding_dim;
        const key = cacheKey(this.model.info, this.data.info);
        let embeddings = this.useCache ? await getEmbeddings(key, { n, dim }) : null;
        check();
        if (embeddings) {
          run.embeddings = 'cache';
          this.saved = { gen, key, stored: Promise.resolve(true), copy: null };
        } else {
          run.embeddings = 'computed';
          const result = await this.embedAll(job, { onProgress });
          embeddings = result.embeddings;
          Object.assign(run, result.run);
          if (gen === this.gen) {
            // Kept for a restart: in the cache, or (cache off) as a copy here.
            this.saved = this.useCache
              ? { gen, key, stored: putEmbeddings(key, embeddings, { n, dim, model: this.model.info.name, data: this.data.info.name }), copy: null }
              : { gen, key, stored: Promise.resolve(false), copy: embeddings.slice() };
          }
        }
        check();
        const { memoryBytes } = await main.request('setEmbeddings', { embeddings }, { transfer: [embeddings.buffer] }).promise;
        this.noteMemory('session', memoryBytes);
        this.embedded = gen === this.gen;
      } else if (!this.embedded) {
        // No embed_range in this build: the session worker embeds inside 'evaluate'.
        run.embeddings = 'computed';
        run.workers = 1;
        run.insideEvaluate = true;
      }
      run.embedMs = performance.now() - t0;
      check();
      const t2 = performance.now();
      const onMainProgress = (msg) => {
        if (msg.phase === 'embedding' && msg.done > 0) this.stats.embedSteps += 1;
        if (msg.phase === 'evaluating' && run.insideEvaluate) run.embedMs = performance.now() - t2;
        onProgress?.(msg);
      };
      const extra = this.testHooks && this.probeDelayMs > 0 ? { probeDelayMs: this.probeDelayMs } : {};
      const { id, promise: evaluated } = main.request('evaluate', { config, ...extra }, { onProgress: onMainProgress });
      job.inflight.add({ client: main, id });
      job.evaluating = true;
      let result;
      try {
        result = await evaluated;
      } catch (err) {
        if (!job.cancelled) throw err;
        try {
          await this.recovering;
        } catch (restartError) {
          throw new WorkerError(`Cancelled, but the engine could not be restarted: ${restartError.message}. Reload the page.`);
        }
        throw cancelledError();
      } finally {
        job.evaluating = false;
      }
      check();
      this.embedded = true;
      this.noteMemory('session', result.memoryBytes);
      run.evaluateMs = result.evaluateMs;
      run.totalMs = performance.now() - t0;
      this.stats.lastRun = run;
      return { ...result, run };
    })();
    const cancel = () => {
      if (job.cancelled) return;
      job.cancelled = true;
      // The session worker is inside one synchronous wasm call (the probe fit) and cannot
      // read a cancel message: stop it and start a fresh one with the same files.
      if (job.evaluating) this.restart();
      for (const { client, id } of job.inflight) client.cancel(id);
    };
    return { promise, cancel };
  }

  /** Test and benchmark hook: embeds the loaded data with the pool, bypassing the cache. */
  async embedOnly({ onProgress } = {}) {
    const job = { cancelled: false, inflight: new Set() };
    let result;
    if ((await this.sessionWorker()).capabilities.embedRange) {
      result = await this.embedAll(job, { onProgress });
    } else {
      // Without embed_range the session worker embeds everything itself (embed_step).
      const t0 = performance.now();
      const r = await this.main.request('embedAll', {}, { onProgress }).promise;
      const rangesMs = performance.now() - t0;
      this.embedded = true;
      result = { embeddings: r.embeddings, run: { workers: 1, rangesMs, imagesPerSecond: this.data.info.n / (rangesMs / 1000) } };
    }
    return { run: result.run, checksum: checksum(result.embeddings), n: this.data.info.n, dim: this.model.info.embedding_dim };
  }

  /** Benchmark hook: decode+preprocess vs encode times in the session worker. */
  async stageTimes() {
    return (await this.sessionWorker()).request('stageTimes').promise;
  }

  /** Benchmark hook: evaluate vs the probe fit alone, in the session worker. */
  async probeTimes(config = {}) {
    return (await this.sessionWorker()).request('probeTimes', { config }).promise;
  }

  noteMemory(who, bytes) {
    if (typeof bytes === 'number') this.stats.wasmBytes[who] = Math.max(this.stats.wasmBytes[who] ?? 0, bytes);
  }

  /** Helpers with the current model and data loaded; starts and loads them as needed. */
  async readyHelpers(count) {
    while (this.helpers.length < count) {
      const helper = { model: 0, data: 0 };
      helper.client = new WorkerClient(this.workerUrl, {
        onCrash: () => {
          this.helpers = this.helpers.filter((h) => h !== helper);
        },
      });
      this.helpers.push(helper);
    }
    const use = this.helpers.slice(0, count);
    await Promise.all(
      use.map(async (h) => {
        await h.client.ready;
        if (h.model !== this.model.gen) {
          h.model = 0;
          await this.sendModel(h.client, this.model);
          h.model = this.model.gen;
        }
        if (h.data !== this.data.gen) {
          h.data = 0;
          await this.sendData(h.client, this.data);
          h.data = this.data.gen;
        }
      }),
    );
    return use;
  }

  /** Embeds every item across the pool; resolves to {embeddings: Float32Array n × dim, run}. */
  async embedAll(job, { onProgress } = {}) {
    const n = this.data.info.n;
    const dim = this.model.info.embedding_dim;
    const steps = Math.ceil(n / EMBED_STEP);
    const t0 = performance.now();
    onProgress?.({ phase: 'embedding', done: 0, total: n });
    const helpers = await this.readyHelpers(Math.max(0, Math.min(this.size, steps) - 1));
    if (job.cancelled) throw cancelledError();
    const setupMs = performance.now() - t0;
    const workers = [{ client: this.main, name: 'session' }, ...helpers.map((h, i) => ({ client: h.client, name: `helper${i + 1}` }))];
    const chunk = Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, Math.ceil(steps / (workers.length * CHUNKS_PER_WORKER)) * EMBED_STEP));
    // Texts go longest first (the session's text_order), so each batch pads to texts of about
    // its own length; ranges are then positions in that order and rows go back to their items.
    // The CLI walks the same order in steps of 256, so it runs the same batches.
    let order = null;
    if (this.data.text && workers.every((w) => w.client.capabilities?.embedItems)) {
      order = (await this.main.request('textOrder').promise).order;
      if (job.cancelled) throw cancelledError();
    }
    const embeddings = new Float32Array(n * dim);
    const perWorker = Object.fromEntries(workers.map((w) => [w.name, 0]));
    const busyMs = Object.fromEntries(workers.map((w) => [w.name, 0]));
    let next = 0;
    let done = 0;
    const t1 = performance.now();
    const runWorker = async (w) => {
      while (!job.cancelled && next < n) {
        const start = next;
        const end = Math.min(n, start + chunk);
        next = end;
        let partial = 0;
        const items = order?.slice(start, end);
        const { id, promise } = w.client.request(items ? 'embedItems' : 'embedRange', items ? { items } : { start, end }, {
          transfer: items ? [items.buffer] : [],
          onProgress: (msg) => {
            done += msg.done - partial;
            partial = msg.done;
            onProgress?.({ phase: 'embedding', done, total: n });
          },
        });
        const entry = { client: w.client, id };
        job.inflight.add(entry);
        this.stats.embedRanges += 1;
        try {
          const r = await promise;
          if (items) {
            for (let i = 0; i < end - start; i++) embeddings.set(r.embeddings.subarray(i * dim, (i + 1) * dim), order[start + i] * dim);
          } else {
            embeddings.set(r.embeddings, start * dim);
          }
          busyMs[w.name] += r.busyMs;
          this.noteMemory(w.name, r.memoryBytes);
        } catch (err) {
          if (err.crashed && w.client !== this.main) {
            // A helper is only a copy: drop it (its onCrash did) and say so; the session is intact.
            const what = items ? `${end - start} texts (${start + 1}–${end} of ${n}, longest first)` : `items ${start}–${end - 1}`;
            throw new WorkerError(`an embedding worker stopped unexpectedly while embedding ${what} (${err.message}); the loaded model and data are kept`);
          }
          throw err;
        } finally {
          job.inflight.delete(entry);
        }
        done += end - start - partial;
        perWorker[w.name] += end - start;
        onProgress?.({ phase: 'embedding', done, total: n });
      }
    };
    const outcomes = await Promise.allSettled(
      workers.map((w) =>
        runWorker(w).catch((err) => {
          if (!job.cancelled) {
            job.cancelled = true;
            job.failed = err;
            for (const { client, id } of job.inflight) client.cancel(id);
          }
          throw err;
        }),
      ),
    );
    if (job.failed) throw job.failed;
    if (outcomes.some((o) => o.status === 'rejected') || job.cancelled) throw cancelledError();
    const embedMs = performance.now() - t1;
    return {
      embeddings,
      run: { workers: workers.length, chunk, textOrder: Boolean(order), setupMs, rangesMs: embedMs, imagesPerSecond: n / (embedMs / 1000), perWorker, busyMs },
    };
  }
}

/** Order-sensitive FNV-1a over the bits of a Float32Array, for identity checks in tests. */
export function checksum(values) {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < bits.length; i++) {
    h ^= bits[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
