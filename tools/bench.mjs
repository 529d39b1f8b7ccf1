// `make bench`: Downstream against its peers on this machine, measured in one run.
// Interleaves the two sides in pairs and reports the median ratio and its spread.
// Writes target/bench/summary.json and prints a table. Not a test: nothing here fails on speed.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from './serve.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'target/bench');
const PAIRS = Number(process.env.BENCH_PAIRS || 7);
const SLICE_MS = Number(process.env.BENCH_SLICE_MS || 1500);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const spread = (xs) => [Math.min(...xs), Math.max(...xs)];

mkdirSync(out, { recursive: true });
if (!existsSync(path.join(out, 'meta.json'))) {
  execFileSync('python3', ['tools/make_bench_data.py', out], { cwd: root, stdio: 'inherit' });
}
const meta = JSON.parse(readFileSync(path.join(out, 'meta.json'), 'utf8'));

const server = await startServer({ port: 0, root });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const summary = { machine: { cores: (await import('node:os')).cpus().length }, when: new Date().toISOString() };
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  await page.goto(`${server.url}bench/index.html`);
  await page.waitForSelector('body.ready', { timeout: 60_000 });

  summary.embed_vs_ort_web = {};
  for (const [name, model] of [['demo_mlp', 'assets/demo/encoder.onnx'], ['cnn4', 'target/bench/cnn.onnx']]) {
    const setup = await page.evaluate(([m, x]) => window.bench.setupEmbed(m, x, 784), [`/${model}`, '/target/bench/digits.f32']);
    const maxAbs = await page.evaluate(() => window.bench.embedDiff());
    const entry = { model, embedding_dim: setup.embedding_dim, ort_threads: setup.ort_threads, max_abs_diff: maxAbs };
    for (const batch of [1, 32]) {
      const ratios = [];
      const ours = [];
      const theirs = [];
      await page.evaluate(([b]) => Promise.all([window.bench.embedRate('ours', b, 300), window.bench.embedRate('ort', b, 300)]), [batch]);
      for (let p = 0; p < PAIRS; p++) {
        const order = p % 2 ? ['ort', 'ours'] : ['ours', 'ort'];
        const r = {};
        for (const side of order) r[side] = await page.evaluate(([s, b, ms]) => window.bench.embedRate(s, b, ms), [side, batch, SLICE_MS]);
        ours.push(r.ours); theirs.push(r.ort); ratios.push(r.ours / r.ort);
      }
      entry[`batch_${batch}`] = { ratio_median: median(ratios), ratio_spread: spread(ratios), ours_img_s: median(ours), ort_web_img_s: median(theirs), pairs: PAIRS };
    }
    summary.embed_vs_ort_web[name] = entry;
  }

  // Logistic regression: our probe in the browser vs scikit-learn on the same rows.
  const [n, d, k] = meta.logreg;
  await page.evaluate(([a, b, n1, d1, t]) => window.bench.setupLogreg(a, b, n1, d1, t), ['/target/bench/logreg_x.f32', '/target/bench/logreg_y.u8', n, d, meta.train]);
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
        r[side] = side === 'ours' ? await page.evaluate(([kk, tt]) => window.bench.fitOurs(kk, 1.0, tt, 1000), [k, tol]) : await sklearnFit(1.0, tol);
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
} finally {
  await browser.close();
  await server.close();
}
const wasm = readFileSync(path.join(root, 'pkg/downstream_bg.wasm'));
summary.wasm_gzip_bytes = gzipSync(wasm, { level: 9 }).length;
summary.wasm_bytes = wasm.length;
writeFileSync(path.join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);

const f = (x) => (typeof x === 'number' ? x.toFixed(3) : String(x));
console.log('\nmetric                                  median ratio   spread           ours / peer');
for (const [name, e] of Object.entries(summary.embed_vs_ort_web)) {
  for (const b of ['batch_1', 'batch_32']) {
    const r = e[b];
    console.log(`embed_vs_ort_web ${name} ${b}`.padEnd(40), f(r.ratio_median).padEnd(14), `${f(r.ratio_spread[0])}-${f(r.ratio_spread[1])}`.padEnd(16), `${r.ours_img_s.toFixed(0)} / ${r.ort_web_img_s.toFixed(0)} img/s`);
  }
}
for (const [name, r] of Object.entries(summary.logreg_fit_vs_sklearn)) {
  console.log(`logreg_fit_vs_sklearn ${name}`.padEnd(40), f(r.ratio_median).padEnd(14), `${f(r.ratio_spread[0])}-${f(r.ratio_spread[1])}`.padEnd(16), `${f(r.ours.seconds)} s (${r.ours.iterations} it, acc ${f(r.ours.test_accuracy)}) / ${f(r.sklearn.seconds)} s (${r.sklearn.iterations} it, acc ${f(r.sklearn.test_accuracy)})`);
}
console.log(`wasm_gzip_bytes`.padEnd(40), String(summary.wasm_gzip_bytes));
console.log(`\nwritten to ${path.relative(root, path.join(out, 'summary.json'))}`);
