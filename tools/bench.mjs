// `make bench`: Downstream against its peers on this machine, measured in one run.
// Interleaves the two sides in pairs and reports the median ratio and its spread.
// Writes target/bench/summary.json and prints a table. Not a test: nothing here fails on speed.
//
// Sections (BENCH_ONLY=kernel,page,stages,logreg,scale,isolated picks some; all by default;
// textpage is the MiniLM part of page alone):
//   kernel    our Encoder vs onnxruntime-web, one thread each, same preprocessed rows, batch 1 and 32;
//             MiniLM-L6 (models/minilm, make models) on the same tokenised TREC questions, sentences/s
//   page      the page's real path (zip -> decode -> preprocess -> encode in N module workers)
//             vs onnxruntime-web's default setting (1 thread: the page is not cross-origin isolated);
//             MiniLM: the page's Text demo (600 questions) vs onnxruntime-web's best 1-thread batch
//   stages    decode+preprocess, encode, probe, metrics on the demo digits
//   logreg    probe fit vs scikit-learn
//   scale     60,000 28x28 images through the page: time, images/s, peak JS heap, wasm memory
//   isolated  onnxruntime-web with threads on a COOP/COEP copy of the bench page (not what the page allows)
// Every run also records the gzip sizes (level 9) of the two wasm builds: wasm_gzip_bytes (the
// image build, pkg/downstream_bg.wasm, the first-open download; goal <= 2,000,000) and
// wasm_full_gzip_bytes (the full build, pkg/downstream_full_bg.wasm, loaded when needed). The
// bench page runs the image encoders and the probe on the image build, MiniLM on the full build.
// Env: BENCH_PAIRS (7), BENCH_SLICE_MS (1500), BENCH_WORKERS (page pool sizes, default "1,P,4"
// with P = min(cores, 4)), BENCH_PAGE_WARMUP_MS (30000), CHROMIUM_PATH.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from './serve.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'target/bench');
const PAIRS = Number(process.env.BENCH_PAIRS || 7);
const SLICE_MS = Number(process.env.BENCH_SLICE_MS || 1500);
// The page path runs this long before its pairs: V8 compiles the wasm with Liftoff first and
// tiers functions up to TurboFan as they get hot, and on this machine the page's rate moves
// between about half and full speed in phases over the first 10-30 s (measured: README).
// The peer has been running for minutes by then. The warm-up slices are kept (warmup_img_s).
const PAGE_WARMUP_MS = Number(process.env.BENCH_PAGE_WARMUP_MS ?? 30000);
const ONLY = new Set((process.env.BENCH_ONLY || 'kernel,page,stages,logreg,scale,isolated').split(','));
const CORES = cpus().length;
const DEFAULT_POOL = Math.max(1, Math.min(CORES, 4));
const POOLS = [...new Set((process.env.BENCH_WORKERS || `1,${DEFAULT_POOL},4`).split(',').map(Number))];
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const spread = (xs) => [Math.min(...xs), Math.max(...xs)];
const MODELS = [['demo_mlp', 'assets/demo/encoder.onnx'], ['cnn4', 'target/bench/cnn.onnx']];
const TEXT_MODEL = 'models/minilm/model.onnx';
const TEXT_TOKENIZER = 'models/minilm/tokenizer.json';
const TEXT_DATA = 'tests/fixtures/text-eval/trec_small.jsonl';
const TEXT_PAGE_DATA = 'assets/text-demo/trec6_sample.csv';

mkdirSync(out, { recursive: true });
if (!existsSync(path.join(out, 'meta.json'))) {
  execFileSync('python3', ['tools/make_bench_data.py', out], { cwd: root, stdio: 'inherit' });
}
if (ONLY.has('scale') && !existsSync(path.join(out, 'digits60k.zip'))) {
  execFileSync('python3', ['tools/make_bench_data.py', out, '--scale'], { cwd: root, stdio: 'inherit' });
}
const meta = JSON.parse(readFileSync(path.join(out, 'meta.json'), 'utf8'));

/** Load of this shared machine while the bench ran: 1-min load averages sampled every 5 s. */
const loadSamples = [];
const loadTimer = setInterval(() => loadSamples.push(loadavg()[0]), 5000);
loadSamples.push(loadavg()[0]);

/**
 * How much parallel CPU this machine gives us right now: a pure arithmetic loop in 1 and in
 * P native threads for 2 s each. On an idle 2-core machine the ratio is about 2; when it is
 * near 1, no pool of workers can beat one worker, whatever the code.
 */
async function parallelCapacity(threads) {
  const code = `const { parentPort } = require('node:worker_threads'); const t = Date.now(); let x = 0, n = 0;
    while (Date.now() - t < 2000) { for (let i = 0; i < 1e6; i++) x += Math.sqrt(i); n++; } parentPort.postMessage(n);`;
  const burn = async (k) => (await Promise.all(Array.from({ length: k }, () => new Promise((r) => new Worker(code, { eval: true }).once('message', r))))).reduce((a, b) => a + b, 0);
  const ratios = [];
  for (let p = 0; p < 3; p++) ratios.push((await burn(threads)) / (await burn(1)));
  return { threads, throughput_ratio_median: median(ratios), ratios };
}

// Download sizes (node zlib, level 9) of the two wasm builds `make build` writes, read before
// the run (the files the bench page loads): the image build is what the page loads on first
// open; the full build only when a model needs an operator the image build leaves out, or a
// text encoder.
const WASM_GOAL = 2_000_000;
// The relaxed-SIMD copies (pkg/relaxed/) are what a browser that validates relaxed SIMD
// downloads instead; the bench page runs those where it can, as the page does.
const WASM_FILES = ['pkg/downstream_bg.wasm', 'pkg/downstream_full_bg.wasm', 'pkg/relaxed/downstream_bg.wasm', 'pkg/relaxed/downstream_full_bg.wasm'];
for (const file of WASM_FILES) {
  if (!existsSync(path.join(root, file))) throw new Error(`${file} is missing: run make build (it writes the image and the full wasm builds, baseline and relaxed SIMD)`);
}
const [wasm, wasmFull, wasmRelaxed, wasmRelaxedFull] = WASM_FILES.map((file) => readFileSync(path.join(root, file)));
const sizes = {
  wasm_gzip_bytes: gzipSync(wasm, { level: 9 }).length,
  wasm_bytes: wasm.length,
  wasm_gzip_goal: WASM_GOAL,
  wasm_full_gzip_bytes: gzipSync(wasmFull, { level: 9 }).length,
  wasm_full_bytes: wasmFull.length,
  wasm_relaxed_gzip_bytes: gzipSync(wasmRelaxed, { level: 9 }).length,
  wasm_relaxed_full_gzip_bytes: gzipSync(wasmRelaxedFull, { level: 9 }).length,
};

const server = await startServer({ port: 0, root });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const summary = { machine: { cores: CORES, parallel_capacity_before: await parallelCapacity(DEFAULT_POOL) }, when: new Date().toISOString(), pairs: PAIRS, slice_ms: SLICE_MS, ...sizes };

async function benchPage(base = server.url, query = '') {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('bench page error:', e));
  await page.goto(`${base}bench/index.html${query}`);
  await page.waitForSelector('body.ready', { timeout: 60_000 });
  return page;
}

/** The real page with the model and data of a classroom link loaded (not run), test hooks on;
 * without a model, the page as it opens. */
async function appPage({ model, data, workers, run = false }) {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  const q = new URLSearchParams({ 'test-hooks': '1', cache: '0', workers: String(workers), ...(model ? { model, data } : {}) });
  if (run) q.set('run', '1');
  await page.goto(`${server.url}?${q}`);
  return page;
}

async function waitLoaded(page) {
  await page.waitForFunction(() => document.body.className === 'error' || (!document.getElementById('run').disabled && document.body.className === 'ready'), null, { timeout: 300_000 });
  if ((await page.evaluate(() => document.body.className)) === 'error') {
    throw new Error(`the page failed: ${await page.locator('[data-testid="error-message"]').textContent()}`);
  }
}

/** Images/s of the page's pool over at least `ms` (whole data set per call). */
async function pageRate(page, ms) {
  return page.evaluate(async (budget) => {
    const t0 = performance.now();
    let images = 0;
    do {
      const r = await window.__downstream.engine.embedOnly();
      images += r.n;
    } while (performance.now() - t0 < budget);
    return images / ((performance.now() - t0) / 1000);
  }, ms);
}

/** Rates of `rate(SLICE_MS)` run back to back for about `ms` (at least one slice). */
async function warmUp(rate, ms) {
  const curve = [];
  const t0 = performance.now();
  do curve.push(await rate(SLICE_MS));
  while (performance.now() - t0 < ms);
  return curve;
}

/** Images/s of onnxruntime-web over all rows at batch 32, over at least `ms`. */
async function ortRate(page, ms) {
  return page.evaluate(async ([budget, rows]) => {
    const t0 = performance.now();
    let images = 0;
    do {
      await window.bench.ortMs(32);
      images += rows;
    } while (performance.now() - t0 < budget);
    return images / ((performance.now() - t0) / 1000);
  }, [ms, meta.digits[0]]);
}

/**
 * Best configuration of each side (the `batch_*` entry with the higher median rate), compared
 * pair by pair only when both sides' best is the same entry (otherwise the ratio of medians).
 */
function bestOfBatches(entry) {
  const keys = Object.keys(entry).filter((k) => k.startsWith('batch_'));
  const best = (side) => keys.reduce((a, b) => (entry[b][side] > entry[a][side] ? b : a));
  const bo = best('ours_img_s');
  const bp = best('ort_web_img_s');
  const name = (k) => k.slice('batch_'.length).replace('_', ' ');
  return bo === bp
    ? { ours_batch: name(bo), ort_batch: name(bp), ratio_median: entry[bo].ratio_median, ratio_spread: entry[bo].ratio_spread }
    : { ours_batch: name(bo), ort_batch: name(bp), ratio_median: entry[bo].ours_img_s / entry[bp].ort_web_img_s, ratio_spread: null };
}

/**
 * The warm-up slices of the page path and its cold rate: the median of the first three slices
 * (a fresh page, as a user's first run meets it), over the peer's median rate from the pairs.
 */
function coldFields(warmup, peer) {
  const cold = median(warmup.slice(0, 3));
  return { warmup_ms: PAGE_WARMUP_MS, warmup_img_s: warmup, cold_img_s: cold, cold_ratio: cold / peer };
}

/** Interleaved pairs of two async measurements (higher is better); median ratio a/b and spread. */
async function pairs(a, b, n = PAIRS) {
  const ratios = [];
  const as = [];
  const bs = [];
  for (let p = 0; p < n; p++) {
    const r = {};
    for (const side of p % 2 ? ['b', 'a'] : ['a', 'b']) r[side] = await (side === 'a' ? a() : b());
    as.push(r.a); bs.push(r.b); ratios.push(r.a / r.b);
  }
  return { ratio_median: median(ratios), ratio_spread: spread(ratios), ours: median(as), peer: median(bs), ours_pairs: as, peer_pairs: bs };
}

try {
  const bench = await benchPage();

  if (ONLY.has('kernel')) {
    // Our encoder alone vs onnxruntime-web, single thread each, on the same preprocessed rows.
    summary.embed_vs_ort_web = {};
    for (const [name, model] of MODELS) {
      const setup = await bench.evaluate(([m, x]) => window.bench.setupEmbed(m, x, 784), [`/${model}`, '/target/bench/digits.f32']);
      const maxAbs = await bench.evaluate(() => window.bench.embedDiff());
      const entry = { model, build: setup.build, simd: setup.simd, embedding_dim: setup.embedding_dim, ort_threads: setup.ort_threads, cross_origin_isolated: setup.cross_origin_isolated, max_abs_diff: maxAbs };
      for (const batch of [1, 32]) {
        await bench.evaluate(([b]) => Promise.all([window.bench.embedRate('ours', b, 300), window.bench.embedRate('ort', b, 300)]), [batch]);
        const r = await pairs(
          () => bench.evaluate(([b, ms]) => window.bench.embedRate('ours', b, ms), [batch, SLICE_MS]),
          () => bench.evaluate(([b, ms]) => window.bench.embedRate('ort', b, ms), [batch, SLICE_MS]),
        );
        entry[`batch_${batch}`] = { ratio_median: r.ratio_median, ratio_spread: r.ratio_spread, ours_img_s: r.ours, ort_web_img_s: r.peer, pairs: PAIRS, ratios: r.ours_pairs.map((x, i) => x / r.peer_pairs[i]) };
      }
      entry.best_single_thread = bestOfBatches(entry);
      summary.embed_vs_ort_web[name] = entry;
    }

    // MiniLM-L6 (make models): the same tokenised questions to both sides, sentences/s.
    if (existsSync(path.join(root, TEXT_MODEL)) && existsSync(path.join(root, TEXT_TOKENIZER))) {
      const setup = await bench.evaluate(([m, t, x]) => window.bench.setupText(m, t, x), [`/${TEXT_MODEL}`, `/${TEXT_TOKENIZER}`, `/${TEXT_DATA}`]);
      const diff = await bench.evaluate(() => window.bench.textDiff());
      const entry = {
        model: TEXT_MODEL,
        build: setup.build,
        unit: 'sentences/s',
        data: `${TEXT_DATA} (${setup.texts} TREC-6 questions), tokenised once by our tokenizer; the same int64 ids, mask and token types go to both sides`,
        how: 'batches of consecutive questions, or (batch_32_sorted) of questions sorted longest first by token count; whole batches only, whole passes over them per slice, each batch padded to its longest (same length on both sides); ours: TextEmbedder.embed_tokens (model + masked mean + L2); onnxruntime-web: run (last_hidden_state only) + the same pooling in JS',
        embedding_dim: setup.embedding_dim,
        pooling: setup.pooling,
        normalize: setup.normalize,
        ort_threads: setup.ort_threads,
        cross_origin_isolated: setup.cross_origin_isolated,
        max_abs_diff: diff.max_abs_diff,
        padded_len: [diff.padded_len_min, diff.padded_len_max],
      };
      // Batches of 1, of 32 consecutive questions, and of 32 sorted longest first (what
      // TextEncoder::embed does on the page and in the CLI; either runtime can be fed so).
      for (const [batch, sorted] of [[1, false], [32, false], [32, true]]) {
        await bench.evaluate(([b, s]) => Promise.all([window.bench.textRate('ours', b, 300, s), window.bench.textRate('ort', b, 300, s)]), [batch, sorted]);
        const r = await pairs(
          () => bench.evaluate(([b, ms, s]) => window.bench.textRate('ours', b, ms, s), [batch, SLICE_MS, sorted]),
          () => bench.evaluate(([b, ms, s]) => window.bench.textRate('ort', b, ms, s), [batch, SLICE_MS, sorted]),
        );
        entry[`batch_${batch}${sorted ? '_sorted' : ''}`] = { ratio_median: r.ratio_median, ratio_spread: r.ratio_spread, ours_img_s: r.ours, ort_web_img_s: r.peer, pairs: PAIRS, ratios: r.ours_pairs.map((x, i) => x / r.peer_pairs[i]) };
      }
      entry.best_single_thread = bestOfBatches(entry);
      summary.embed_vs_ort_web.minilm = entry;
    } else {
      console.log(`embed_vs_ort_web minilm: skipped, ${TEXT_MODEL} or ${TEXT_TOKENIZER} is missing (make models builds them)`);
      summary.embed_vs_ort_web.minilm = { skipped: `${path.dirname(TEXT_MODEL)} missing (make models)` };
    }
  }

  if (ONLY.has('page')) {
    // The page's path (PNG zip -> decode -> preprocess -> encode, N module workers) vs
    // onnxruntime-web's default setting on already-preprocessed rows (no decode on its side).
    summary.page_embed_vs_ort_web = {};
    for (const [name, model] of MODELS) {
      await bench.evaluate(([m, x]) => window.bench.setupEmbed(m, x, 784), [`/${model}`, '/target/bench/digits.f32']);
      const entry = {
        model,
        data: 'assets/demo/digits.zip (1,000 PNG)',
        peer: 'onnxruntime-web 1.30 wasm, default setting: 1 thread (page not cross-origin isolated), batch 32, preprocessed float32 rows',
        ours: 'the page: engine.embedOnly() over the zip, pool of N module workers, 64-item ranges',
      };
      for (const workers of POOLS) {
        const page = await appPage({ model, data: 'assets/demo/digits.zip', workers });
        await waitLoaded(page);
        const warmup = await warmUp((ms) => pageRate(page, ms), PAGE_WARMUP_MS);
        await ortRate(bench, 300);
        const r = await pairs(() => pageRate(page, SLICE_MS), () => ortRate(bench, SLICE_MS));
        const run = await page.evaluate(() => window.__downstream.stats.lastRun ?? null);
        entry[`workers_${workers}`] = { ratio_median: r.ratio_median, ratio_spread: r.ratio_spread, ours_img_s: r.ours, ort_web_img_s: r.peer, pairs: PAIRS, parallel: Boolean(await page.evaluate(() => window.__downstream.engine.main.capabilities.embedRange)), ratios: r.ours_pairs.map((x, i) => x / r.peer_pairs[i]), ...coldFields(warmup, r.peer), run };
        await page.close();
      }
      summary.page_embed_vs_ort_web[name] = entry;
    }
  }

  if ((ONLY.has('page') || ONLY.has('textpage')) && existsSync(path.join(root, TEXT_MODEL)) && existsSync(path.join(root, TEXT_TOKENIZER))) {
    // MiniLM on the page's path: the Text demo (all-MiniLM-L6-v2 and the 600 TREC-6 questions
    // of assets/text-demo) embedded by the pool of N workers, vs onnxruntime-web in its best
    // single-thread setting (the faster of batch 1 and batch 32 sorted by length, picked on
    // these questions before the pairs) on the same questions, tokenised by us.
    const jsonl = path.join(out, 'trec6_sample.jsonl');
    execFileSync('python3', ['-c', 'import csv, json, sys\nwith open(sys.argv[1], newline="", encoding="utf-8") as f, open(sys.argv[2], "w", encoding="utf-8") as o:\n    for row in csv.DictReader(f): o.write(json.dumps({"question": row["text"]}) + "\\n")', path.join(root, TEXT_PAGE_DATA), jsonl]);
    const setup = await bench.evaluate(([m, t, x]) => window.bench.setupText(m, t, x), [`/${TEXT_MODEL}`, `/${TEXT_TOKENIZER}`, '/target/bench/trec6_sample.jsonl']);
    const configs = [[1, false], [32, true]];
    const probe = [];
    for (const [b, sorted] of configs) probe.push(await bench.evaluate(([x, ms, so]) => window.bench.textRate('ort', x, ms, so), [b, SLICE_MS, sorted]));
    const [ortBatch, ortSorted] = configs[probe[0] >= probe[1] ? 0 : 1];
    const entry = {
      model: TEXT_MODEL,
      unit: 'sentences/s',
      data: `${TEXT_PAGE_DATA} (${setup.texts} TREC-6 questions)`,
      peer: `onnxruntime-web 1.30 wasm, 1 thread (page not cross-origin isolated), batch ${ortBatch}${ortSorted ? ' sorted longest first' : ''} (the faster of batch 1 and batch 32 sorted on these questions: ${probe.map((x) => x.toFixed(1)).join(' vs ')} sentences/s), tokenised by our tokenizer, + the same pooling in JS`,
      ours: 'the page: the Text demo loaded, engine.embedOnly() over the 600 questions, pool of N module workers (full build), the questions longest first (textOrder) in pieces of 64 (embedItems), batches of 32',
    };
    const ortSide = (ms) => bench.evaluate(([x, t, so]) => window.bench.textRate('ort', x, t, so), [ortBatch, ms, ortSorted]);
    for (const workers of POOLS) {
      const page = await appPage({ workers });
      await page.getByTestId('text-demo').click();
      await page.waitForFunction(() => /^Text demo loaded/.test(document.getElementById('status').textContent) || document.body.className === 'error', null, { timeout: 300_000 });
      if ((await page.evaluate(() => document.body.className)) === 'error') {
        throw new Error(`the text demo failed: ${await page.locator('[data-testid="error-message"]').textContent()}`);
      }
      const warmup = await warmUp((ms) => pageRate(page, ms), PAGE_WARMUP_MS);
      await ortSide(300);
      const r = await pairs(() => pageRate(page, SLICE_MS), () => ortSide(SLICE_MS));
      entry[`workers_${workers}`] = { ratio_median: r.ratio_median, ratio_spread: r.ratio_spread, ours_img_s: r.ours, ort_web_img_s: r.peer, pairs: PAIRS, parallel: Boolean(await page.evaluate(() => window.__downstream.engine.main.capabilities.embedRange)), ratios: r.ours_pairs.map((x, i) => x / r.peer_pairs[i]), ...coldFields(warmup, r.peer) };
      await page.close();
    }
    summary.page_embed_vs_ort_web ??= {};
    summary.page_embed_vs_ort_web.minilm = entry;
  }

  if (ONLY.has('stages')) {
    // Per-stage times on the 1,000 demo digits in the page's session worker (one worker):
    // decode+preprocess = Session.preprocess_range, encode = embed_range - preprocess_range
    // (per 64 items, as the page embeds); probe = fit_logreg on the report's train rows with
    // its settings; metrics = evaluate (split, fit, metrics, bootstrap intervals, report) - probe.
    const page = await appPage({ model: 'assets/demo/encoder.onnx', data: 'assets/demo/digits.zip', workers: 1 });
    await waitLoaded(page);
    await page.getByTestId('run').click();
    await page.waitForFunction(() => ['results', 'error'].includes(document.body.className), null, { timeout: 300_000 });
    const reps = 5;
    const rows = { decode_preprocess_ms: [], encode_ms: [], probe_ms: [], evaluate_ms: [], metrics_ms: [] };
    let probe = null;
    const split = await page.evaluate(() => window.__downstream.engine.main.capabilities.stageRanges);
    for (let i = 0; i < reps; i++) {
      if (split) {
        const t = await page.evaluate(() => window.__downstream.engine.stageTimes());
        rows.decode_preprocess_ms.push(t.preprocessMs);
        rows.encode_ms.push(t.encodeMs);
      }
      probe = await page.evaluate(() => window.__downstream.engine.probeTimes({ seed: 0 }));
      rows.probe_ms.push(probe.fitMs);
      rows.evaluate_ms.push(probe.evaluateMs);
      rows.metrics_ms.push(probe.evaluateMs - probe.fitMs);
    }
    await page.close();
    const m = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.length ? median(v) : null]));
    summary.stages = {
      images: 1000,
      model: 'assets/demo/encoder.onnx',
      decode_preprocess_ms: m.decode_preprocess_ms,
      encode_ms: m.encode_ms,
      probe_ms: m.probe_ms,
      probe_iterations: probe.fitIterations,
      evaluate_probe_iterations: probe.reportIterations,
      metrics_ms: m.metrics_ms,
      evaluate_ms: m.evaluate_ms,
      reps,
      how: 'medians of 5 in the page session worker; decode and preprocess are one Rust call (preprocess_range), so they are reported together; metrics = median of (evaluate - fit) per rep and includes the 1,000-resample bootstrap intervals and the report; a value near 0 or below is within the noise of the fit',
    };
  }

  if (ONLY.has('logreg')) {
    // Logistic regression: our probe in the browser vs scikit-learn on the same rows.
    const [n, d, k] = meta.logreg;
    await bench.evaluate(([a, b, n1, d1, t]) => window.bench.setupLogreg(a, b, n1, d1, t), ['/target/bench/logreg_x.f32', '/target/bench/logreg_y.u8', n, d, meta.train]);
    const py = spawn('python3', ['-c', `
import sys, json, time, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression
x = np.fromfile(sys.argv[1], dtype='<f4').reshape(${n}, ${d}); y = np.fromfile(sys.argv[2], dtype=np.uint8)
for line in sys.stdin:
    c, tol = map(float, line.split())
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        m = LogisticRegression(C=c, tol=tol, max_iter=1000).fit(x[:${meta.train}], y[:${meta.train}])
    s = time.perf_counter() - t
    print(json.dumps({'seconds': s, 'iterations': int(m.n_iter_[0]), 'test_accuracy': float(m.score(x[${meta.train}:], y[${meta.train}:]))}), flush=True)
`, path.join(out, 'logreg_x.f32'), path.join(out, 'logreg_y.u8')], {
      cwd: root,
      env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('OPENBLAS_'))),
    });
    const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
    const sklearnFit = async (c, tol) => { py.stdin.write(`${c} ${tol}\n`); return JSON.parse((await lines.next()).value); };
    summary.logreg_fit_vs_sklearn = {};
    for (const tol of [1e-4, 1e-6]) {
      const ratios = [];
      const runs = { ours: [], sklearn: [] };
      for (let p = 0; p < 5; p++) {
        const order = p % 2 ? ['sklearn', 'ours'] : ['ours', 'sklearn'];
        const r = {};
        for (const side of order) {
          r[side] = side === 'ours' ? await bench.evaluate(([kk, tt]) => window.bench.fitOurs(kk, 1.0, tt, 1000), [k, tol]) : await sklearnFit(1.0, tol);
        }
        runs.ours.push(r.ours); runs.sklearn.push(r.sklearn);
        ratios.push(r.ours.seconds / r.sklearn.seconds);
      }
      summary.logreg_fit_vs_sklearn[`tol_${tol}`] = {
        ratio_median: median(ratios), ratio_spread: spread(ratios),
        ours: { seconds: median(runs.ours.map((r) => r.seconds)), iterations: runs.ours[0].iterations, test_accuracy: runs.ours[0].test_accuracy },
        sklearn: { seconds: median(runs.sklearn.map((r) => r.seconds)), iterations: runs.sklearn[0].iterations, test_accuracy: runs.sklearn[0].test_accuracy },
        data: `${n} x ${d}, ${k} classes, train ${meta.train}`,
      };
    }
    py.stdin.end();
  }
  await bench.close();

  if (ONLY.has('scale')) {
    summary.scale = {};
    for (const workers of [...new Set([DEFAULT_POOL, 1])]) {
      summary.scale[`workers_${workers}`] = await scaleRun(workers);
    }
  }

  if (ONLY.has('isolated')) summary.ort_web_threaded = await isolatedOrt();
} finally {
  clearInterval(loadTimer);
  await browser.close();
  await server.close();
}

/**
 * 60,000 PNG digits through the page (classroom link with run=1): wall time, images/s, peak
 * JS heap of the page and of each worker (CDP Runtime.getHeapUsage, polled), wasm memory.
 */
async function scaleRun(workers) {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('scale page error:', e));
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  // Workers are reached through non-flattened target sessions (Playwright's own session is flattened).
  const workerSessions = new Map();
  const waiting = new Map();
  let nextId = 1;
  cdp.on('Target.attachedToTarget', (e) => {
    if (e.targetInfo.type === 'worker') workerSessions.set(e.sessionId, { url: e.targetInfo.url, peakUsed: 0, peakBacking: 0 });
  });
  cdp.on('Target.detachedFromTarget', (e) => workerSessions.get(e.sessionId) && (workerSessions.get(e.sessionId).gone = true));
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const m = JSON.parse(e.message);
    waiting.get(m.id)?.(m);
    waiting.delete(m.id);
  });
  const toWorker = (sessionId, method) => new Promise((resolve) => {
    const id = nextId++;
    waiting.set(id, resolve);
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) }).catch(() => resolve(null));
    setTimeout(() => { waiting.delete(id); resolve(null); }, 2000);
  });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });

  let peakPageHeap = 0;
  let samples = 0;
  let polling = true;
  const poll = (async () => {
    while (polling) {
      try {
        const { metrics } = await cdp.send('Performance.getMetrics');
        peakPageHeap = Math.max(peakPageHeap, metrics.find((x) => x.name === 'JSHeapUsedSize')?.value ?? 0);
        await Promise.all([...workerSessions].filter(([, w]) => !w.gone).map(async ([sid, w]) => {
          const r = await toWorker(sid, 'Runtime.getHeapUsage');
          if (r?.result) {
            w.peakUsed = Math.max(w.peakUsed, r.result.usedSize);
            w.peakBacking = Math.max(w.peakBacking, r.result.backingStorageSize ?? 0);
          }
        }));
        samples += 1;
      } catch {
        // the page is navigating or closing
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();

  const t0 = Date.now();
  const q = new URLSearchParams({ 'test-hooks': '1', cache: '0', workers: String(workers), model: 'assets/demo/encoder.onnx', data: 'target/bench/digits60k.zip', run: '1' });
  await page.goto(`${server.url}?${q}`);
  let progressSeen = 0;
  const progressTimer = setInterval(async () => {
    progressSeen = Math.max(progressSeen, await page.evaluate(() => Number(document.getElementById('progress').value) || 0).catch(() => 0));
  }, 1000);
  let outcome;
  try {
    await page.waitForFunction(() => ['results', 'error'].includes(document.body.className), null, { timeout: 1_200_000, polling: 500 });
    outcome = await page.evaluate(() => ({
      state: document.body.className,
      error: document.getElementById('error').textContent,
      accuracy: document.querySelector('[data-testid="metric-accuracy"]')?.dataset.value ?? null,
      stats: JSON.parse(JSON.stringify(window.__downstream.stats)),
      status: document.getElementById('status').textContent,
    }));
  } finally {
    clearInterval(progressTimer);
  }
  const wallS = (Date.now() - t0) / 1000;
  polling = false;
  await poll;
  await page.close();
  const run = outcome.stats.lastRun ?? {};
  const wasm = outcome.stats.wasmBytes;
  const workerHeaps = [...workerSessions.values()].map((w) => ({ url: w.url.replace(/^.*\/www\//, ''), peak_js_heap_used: w.peakUsed, peak_backing_store: w.peakBacking }));
  return {
    images: 60000,
    workers,
    parallel: run.workers > 1,
    state: outcome.state,
    error: outcome.error || undefined,
    accuracy: outcome.accuracy,
    wall_s: wallS,
    embed_s: run.embedMs / 1000,
    evaluate_s: run.evaluateMs / 1000,
    images_per_s_embed: run.embedMs ? 60000 / (run.embedMs / 1000) : null,
    images_per_s_wall: 60000 / wallS,
    progress_max_seen: progressSeen,
    peak_page_js_heap: peakPageHeap,
    workers_js_heap: workerHeaps,
    wasm_memory_bytes: wasm,
    wasm_memory_total: Object.values(wasm).reduce((a, b) => a + b, 0),
    heap_samples: samples,
  };
}

/**
 * onnxruntime-web with threads: the bench page served again with COOP/COEP through a
 * header-adding proxy, so SharedArrayBuffer is available. The real page does not send these
 * headers, so this is ORT's best setting on this machine, not one the page allows.
 */
async function isolatedOrt() {
  const proxy = createServer((req, res) => {
    const up = httpRequest(new URL(req.url, server.url), { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, { ...r.headers, 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${proxy.address().port}/`;
  const result = {};
  try {
    for (const threads of [1, CORES]) {
      const page = await benchPage(base, `?ort-threads=${threads}`);
      const setup = await page.evaluate(([m, x]) => window.bench.setupEmbed(m, x, 784), ['/target/bench/cnn.onnx', '/target/bench/digits.f32']);
      await page.evaluate(() => window.bench.embedRate('ort', 32, 300));
      const rates = [];
      for (let p = 0; p < Math.max(3, PAIRS >> 1); p++) rates.push(await page.evaluate(([ms]) => window.bench.embedRate('ort', 32, ms), [SLICE_MS]));
      result[`cnn4_threads_${threads}`] = { img_s: median(rates), spread: spread(rates), cross_origin_isolated: setup.cross_origin_isolated, ort_threads: setup.ort_threads };
      await page.close();
    }
  } finally {
    await new Promise((r) => proxy.close(r));
  }
  return result;
}

loadSamples.push(loadavg()[0]);
summary.machine.parallel_capacity_after = await parallelCapacity(DEFAULT_POOL);
summary.machine.load_1min = { min: Math.min(...loadSamples), median: median(loadSamples), max: Math.max(...loadSamples), samples: loadSamples.length };
// A partial run (BENCH_ONLY) updates its sections of an earlier summary and keeps the others.
const summaryFile = path.join(out, 'summary.json');
const earlier = process.env.BENCH_ONLY && existsSync(summaryFile) ? JSON.parse(readFileSync(summaryFile, 'utf8')) : {};
const sections = { ...(earlier.sections ?? {}), ...Object.fromEntries([...ONLY].map((k) => [k, { when: summary.when, load_1min: summary.machine.load_1min }])) };
writeFileSync(summaryFile, `${JSON.stringify({ ...earlier, ...summary, sections }, null, 2)}\n`);

const f = (x) => (typeof x === 'number' ? x.toFixed(3) : String(x));
const mb = (x) => (typeof x === 'number' ? `${(x / 1048576).toFixed(1)} MB` : '-');
const row = (name, ratio, sp, rest) => console.log(name.padEnd(48), f(ratio).padEnd(14), (sp ? `${f(sp[0])}-${f(sp[1])}` : '-').padEnd(16), rest);
console.log('\nmetric                                           median ratio   spread           ours / peer');
for (const [name, e] of Object.entries(summary.embed_vs_ort_web ?? {})) {
  if (e.skipped) {
    console.log(`embed_vs_ort_web ${name}`.padEnd(48), `skipped: ${e.skipped}`);
    continue;
  }
  const unit = e.unit ?? 'img/s';
  for (const b of Object.keys(e).filter((k) => k.startsWith('batch_'))) {
    const r = e[b];
    row(`embed_vs_ort_web ${name} ${b}`, r.ratio_median, r.ratio_spread, `${r.ours_img_s.toFixed(unit === 'img/s' ? 0 : 1)} / ${r.ort_web_img_s.toFixed(unit === 'img/s' ? 0 : 1)} ${unit} (1 thread each)`);
  }
  const b = e.best_single_thread;
  row(`embed_vs_ort_web ${name} best vs best`, b.ratio_median, b.ratio_spread, `our batch ${b.ours_batch} vs ORT batch ${b.ort_batch}, ORT threads ${e.ort_threads}, max |diff| ${e.max_abs_diff.toExponential(2)}`);
}
for (const [name, e] of Object.entries(summary.page_embed_vs_ort_web ?? {})) {
  for (const [k, r] of Object.entries(e).filter(([key]) => key.startsWith('workers_'))) {
    row(`page_embed_vs_ort_default ${name} ${k}${r.parallel ? '' : ' (1 worker)'}`, r.ratio_median, r.ratio_spread, `${r.ours_img_s.toFixed(e.unit ? 1 : 0)} / ${r.ort_web_img_s.toFixed(e.unit ? 1 : 0)} ${e.unit ?? 'img/s'} after ${r.warmup_ms / 1000} s warm-up; first slices ${r.cold_ratio.toFixed(2)}`);
  }
}
if (summary.stages) {
  const s = summary.stages;
  console.log(`stages (1,000 digits, ms)`.padEnd(48), `decode+preprocess ${f(s.decode_preprocess_ms)}, encode ${f(s.encode_ms)}, probe ${f(s.probe_ms)} (${s.probe_iterations} it), metrics ${f(s.metrics_ms)}`);
}
for (const [name, r] of Object.entries(summary.logreg_fit_vs_sklearn ?? {})) {
  row(`logreg_fit_vs_sklearn ${name}`, r.ratio_median, r.ratio_spread, `${f(r.ours.seconds)} s (${r.ours.iterations} it, acc ${f(r.ours.test_accuracy)}) / ${f(r.sklearn.seconds)} s (${r.sklearn.iterations} it, acc ${f(r.sklearn.test_accuracy)})`);
}
for (const [name, r] of Object.entries(summary.scale ?? {})) {
  console.log(`scale 60k ${name}`.padEnd(48), `${r.state}, ${f(r.wall_s)} s wall, ${r.images_per_s_embed?.toFixed(0)} img/s embedding, peak page heap ${mb(r.peak_page_js_heap)}, workers heap ${r.workers_js_heap.map((w) => mb(w.peak_js_heap_used)).join(' + ')}, wasm ${mb(r.wasm_memory_total)}`);
}
for (const [name, r] of Object.entries(summary.ort_web_threaded ?? {})) {
  console.log(`ort_web COOP/COEP ${name}`.padEnd(48), `${r.img_s.toFixed(0)} img/s (isolated ${r.cross_origin_isolated})`);
}
const bytes = (x) => x.toLocaleString('en-US');
console.log(`wasm_gzip_bytes (image build, first open)`.padEnd(48), `${bytes(summary.wasm_gzip_bytes)} (goal <= ${bytes(WASM_GOAL)}: ${summary.wasm_gzip_bytes <= WASM_GOAL ? 'met' : 'NOT met'}), ${bytes(summary.wasm_bytes)} raw`);
console.log(`wasm_full_gzip_bytes (full build, when needed)`.padEnd(48), `${bytes(summary.wasm_full_gzip_bytes)}, ${bytes(summary.wasm_full_bytes)} raw`);
console.log(`wasm_relaxed_gzip_bytes (relaxed SIMD image build)`.padEnd(48), `${bytes(summary.wasm_relaxed_gzip_bytes)} (goal <= ${bytes(WASM_GOAL)}: ${summary.wasm_relaxed_gzip_bytes <= WASM_GOAL ? 'met' : 'NOT met'})`);
console.log(`wasm_relaxed_full_gzip_bytes (relaxed SIMD full)`.padEnd(48), `${bytes(summary.wasm_relaxed_full_gzip_bytes)}`);
console.log(`machine: ${CORES} cores, 1-min load average ${f(summary.machine.load_1min.min)}-${f(summary.machine.load_1min.max)} (median ${f(summary.machine.load_1min.median)}); ` +
  `${DEFAULT_POOL} native threads did ${f(summary.machine.parallel_capacity_before.throughput_ratio_median)}× (before) and ${f(summary.machine.parallel_capacity_after.throughput_ratio_median)}× (after) the work of 1`);
console.log(`\nwritten to ${path.relative(root, path.join(out, 'summary.json'))}`);
