// Browser tests of the t-SNE embedding map (src/tsne.rs through wasm tsne_2d, the worker's
// 'embeddingRows' and 'tsneRows' messages and the map-method select). The demo's map switches
// to t-SNE and back, with the same gallery links as the PCA map; t-SNE runs in a worker of its
// own, so stopping it (PCA, a new Run) keeps the session's k-NN neighbours and a Run does not
// wait for it; the wasm t-SNE of tests/fixtures/tsne/digits_X.npy equals the native CLI's
// (`downstream map --method tsne`) bit for bit (build the CLI with `make e2e-reports` or
// `make cli`).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, RUN_TIMEOUT, TEST_TIMEOUT, openPage, readReport, useBrowser, waitForState } from './helpers.mjs';

useBrowser();

const CLI = path.join(ROOT, 'target/debug/downstream');
const DIGITS = path.join(ROOT, 'tests/fixtures/tsne/digits_X.npy');

/** A little-endian float32 2-D .npy (format 1.0 or 2.0) as {data: Float32Array, rows, cols}. */
function readNpyF32(file) {
  const buf = readFileSync(file);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.subarray(major === 1 ? 10 : 12, start).toString('latin1');
  assert.match(header, /'descr': '<f4'/);
  assert.match(header, /'fortran_order': False/);
  const [rows, cols] = /'shape': \((\d+), (\d+)\)/.exec(header).slice(1).map(Number);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + rows * cols * 4));
  return { data, rows, cols };
}

/** Writes rows × cols float32 values as a little-endian .npy (format 1.0). */
function writeNpyF32(file, values, rows, cols) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY', 'latin1'), Buffer.from([1, 0]), Buffer.alloc(2), Buffer.from(header, 'latin1')]);
  head.writeUInt16LE(header.length, 8);
  writeFileSync(file, Buffer.concat([head, Buffer.from(new Float32Array(values).buffer)]));
}

/** The CLI's t-SNE coordinates (flat x0, y0, …) of a .npy with the given perplexity. */
function cliTsne(npy, perplexity) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'downstream-tsne-'));
  try {
    const out = path.join(dir, 'coords.csv');
    execFileSync(CLI, ['map', npy, '--method', 'tsne', '--perplexity', String(perplexity), '--output', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'tsne1,tsne2');
    // The CLI prints each f32 in its shortest round-trip form: Math.fround gives back the
    // exact f32 the page has (Number alone is a nearby double, which can round to another pixel).
    return lines.slice(1).flatMap((l) => l.split(',').map((v) => Math.fround(Number(v))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function gallerySamples(page) {
  return page.$$eval('[data-testid="sample-gallery"] [data-sample]', (els) => els.map((e) => Number(e.dataset.sample)).sort((a, b) => a - b));
}

async function mapPoints(page) {
  return page.$$eval('[data-testid="embedding-scatter"] circle.point', (els) =>
    els.map((e) => ({ i: Number(e.dataset.i), item: Number(e.dataset.item), cls: Number(e.dataset.class), cx: Number(e.getAttribute('cx')), cy: Number(e.getAttribute('cy')) })),
  );
}

/** The dot farthest from any other (t-SNE packs clusters tightly; a click there hits only it). */
function loneliest(points) {
  const gap = (q) => Math.min(...points.filter((o) => o !== q).map((o) => Math.hypot(o.cx - q.cx, o.cy - q.cy)));
  return points.reduce((best, q) => (gap(q) > gap(best) ? q : best));
}

async function mapLabel(page) {
  return page.locator('[data-testid="embedding-scatter"] svg').getAttribute('aria-label');
}

describe('t-SNE map of the demo run', () => {
  const report = readReport('demo-report.json');
  let ctx;

  before(async () => {
    ctx = await openPage();
    await ctx.page.getByTestId('run-demo').click();
    await waitForState(ctx.page, ['results']);
  });
  after(async () => {
    await ctx?.context.close();
  });

  test('switching to t-SNE draws one dot per test item, linked to the gallery; back to PCA redraws PCA', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = ctx;
    const p = report.predictions;
    const n = p.test_index.length;
    const select = page.getByTestId('map-method');
    await page.locator('[data-testid="embedding-scatter"] circle.point').first().waitFor({ timeout: 60_000 });
    assert.equal(await select.inputValue(), 'pca', 'a run draws PCA by default');
    assert.match(await mapLabel(page), /^PCA of the \d+ test embeddings/);

    const started = Date.now();
    await select.selectOption('tsne');
    await page.waitForFunction(
      () => /^t-SNE/.test(document.querySelector('[data-testid="embedding-scatter"] svg')?.getAttribute('aria-label') ?? ''),
      null,
      { timeout: RUN_TIMEOUT },
    );
    const seconds = (Date.now() - started) / 1000;
    console.log(`t-SNE of the demo's ${n} test embeddings on the page: ${seconds.toFixed(2)} s (select to drawn map)`);
    assert.equal(await mapLabel(page), `t-SNE (perplexity 30) of the ${n} test embeddings, coloured by true class (${report.metrics.confusion_matrix.labels.length} classes)`);
    const text = await page.getByTestId('embedding-scatter').textContent();
    assert.ok(text.includes('t-SNE 1') && text.includes('t-SNE 2'), 'axis labels');
    assert.ok(!text.includes('% of variance'), 'no explained variance on a t-SNE map');
    assert.match(await page.getByTestId('scatter-note').textContent(), new RegExp(`^t-SNE of ${n} points \\(Barnes-Hut, perplexity 30, 1000 iterations`));

    const points = await mapPoints(page);
    assert.equal(points.length, n);
    assert.deepEqual(points.map((q) => q.item).sort((a, b) => a - b), [...p.test_index].sort((a, b) => a - b));
    for (const q of points) assert.equal(q.cls, p.y_true[q.i], 'coloured by the true class');

    // A click opens exactly that sample.
    const target = loneliest(points);
    assert.ok(Math.min(...points.filter((o) => o !== target).map((o) => Math.hypot(o.cx - target.cx, o.cy - target.cy))) > 7, 'a dot no other dot overlaps');
    await page.locator(`[data-testid="embedding-scatter"] circle.point[data-i="${target.i}"]`).click({ force: true });
    await page.getByTestId('sample-gallery').waitFor({ state: 'visible' });
    assert.deepEqual(await gallerySamples(page), [target.item]);
    await page.keyboard.press('Escape');

    // Keyboard: focus a dot, Enter opens its sample.
    const other = points[5];
    await page.locator(`[data-testid="embedding-scatter"] circle.point[data-i="${other.i}"]`).focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction((item) => [...document.querySelectorAll('[data-testid="sample-gallery"] [data-sample]')].map((e) => Number(e.dataset.sample)).join() === String(item), other.item);
    await page.keyboard.press('Escape');

    // Back to PCA, then to t-SNE again (kept for this report: no second computation).
    await select.selectOption('pca');
    await page.waitForFunction(() => /^PCA/.test(document.querySelector('[data-testid="embedding-scatter"] svg')?.getAttribute('aria-label') ?? ''));
    assert.match(await page.getByTestId('embedding-scatter').textContent(), /PC 1 \(\d+\.\d % of variance\)/);
    assert.equal((await mapPoints(page)).length, n);
    const again = Date.now();
    await select.selectOption('tsne');
    await page.waitForFunction(() => /^t-SNE/.test(document.querySelector('[data-testid="embedding-scatter"] svg')?.getAttribute('aria-label') ?? ''));
    assert.ok(Date.now() - again < 2000, 'the second t-SNE map comes from the kept result');
    assert.deepEqual(ctx.problems, []);
  });

  test('a new run resets the map to PCA', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = ctx;
    await page.getByTestId('run').click();
    await waitForState(page, ['results']);
    await page.waitForFunction(() => /^PCA/.test(document.querySelector('[data-testid="embedding-scatter"] svg')?.getAttribute('aria-label') ?? ''), null, { timeout: RUN_TIMEOUT });
    assert.equal(await page.getByTestId('map-method').inputValue(), 'pca');
    assert.deepEqual(ctx.problems, []);
  });
});

describe('t-SNE perplexity of the demo map', () => {
  const report = readReport('demo-report.json');
  const labels = report.metrics.confusion_matrix.labels;
  let ctx;

  before(async () => {
    ctx = await openPage('?test-hooks=1');
    await ctx.page.getByTestId('run-demo').click();
    await waitForState(ctx.page, ['results']);
    await waitForMap(ctx.page, 'PCA');
  });
  after(async () => {
    await ctx?.context.close();
  });

  const label = (n, perplexity) => `t-SNE (perplexity ${perplexity}) of the ${n} test embeddings, coloured by true class (${labels.length} classes)`;
  const waitForLabel = (page, text) =>
    page.waitForFunction((t) => document.querySelector('[data-testid="embedding-scatter"] svg')?.getAttribute('aria-label') === t, text, { timeout: RUN_TIMEOUT });

  test('perplexity 10 draws the CLI map of the same rows with --perplexity 10; an invalid value keeps the map and says why', { timeout: TEST_TIMEOUT }, async () => {
    assert.ok(existsSync(CLI), `${CLI} is missing; run \`make cli\` (or \`make e2e-reports\`) first`);
    const { page } = ctx;
    const input = page.getByTestId('map-perplexity');
    assert.equal(await input.isVisible(), false, 'no perplexity field on the PCA map');
    await page.getByTestId('map-method').selectOption('tsne');
    const n = report.predictions.test_index.length;
    await waitForLabel(page, label(n, 30));
    assert.equal(await input.isVisible(), true, 'the perplexity field shows with t-SNE');
    assert.equal(await input.inputValue(), '30');
    assert.deepEqual(await input.evaluate((e) => [e.min, e.max, e.step]), ['2', '100', '1']);
    const at30 = await mapPoints(page);

    // Keyboard: Tab from the method select reaches the field; typing does not recompute, leaving it does.
    await page.getByTestId('map-method').focus();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'map-perplexity');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('10');
    assert.equal(await mapLabel(page), label(n, 30), 'no recomputation on each keystroke');
    await page.keyboard.press('Tab');
    await waitForLabel(page, label(n, 10));
    assert.match(await page.getByTestId('scatter-note').textContent(), new RegExp(`^t-SNE of ${n} points \\(Barnes-Hut, perplexity 10, 1000 iterations`));
    const at10 = await mapPoints(page);
    assert.equal(at10.length, n);
    assert.notDeepEqual(at10.map((q) => [q.cx, q.cy]), at30.map((q) => [q.cx, q.cy]), 'perplexity 10 gives another map than 30');

    // The same test rows through the native CLI with --perplexity 10, drawn by the same scatterSvg,
    // give exactly these dots.
    const byRow = [...at10].sort((a, b) => a.i - b.i);
    const items = byRow.map((q) => q.item);
    const { x, dim } = await page.evaluate(async (indices) => {
      const worker = await window.__downstream.engine.sessionWorker();
      const rows = await worker.request('embeddingRows', { indices }).promise;
      return { x: Array.from(rows.x), dim: rows.dim };
    }, items);
    assert.equal(x.length, n * dim);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'downstream-tsne-rows-'));
    let native;
    try {
      const npy = path.join(dir, 'rows.npy');
      writeNpyF32(npy, x, n, dim);
      native = cliTsne(npy, 10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(native.length, 2 * n);
    const expected = await page.evaluate(
      async ({ coords, classes, labels, items }) => {
        const { scatterSvg } = await import('/www/charts.js');
        const svg = scatterSvg(coords, classes, labels, { items, method: 'tsne', perplexity: 10 });
        return [...svg.querySelectorAll('circle.point')].map((e) => ({ i: Number(e.dataset.i), cx: Number(e.getAttribute('cx')), cy: Number(e.getAttribute('cy')) }));
      },
      { coords: native, classes: byRow.map((q) => q.cls), labels, items },
    );
    assert.deepEqual(
      byRow.map((q) => ({ i: q.i, cx: q.cx, cy: q.cy })),
      expected,
      'the page map at perplexity 10 is the CLI map of the same rows',
    );

    // Invalid values: the message, the input marked invalid, the perplexity-10 dots unchanged.
    for (const bad of ['0', '', '101', '2.5']) {
      const message = `Perplexity must be a whole number from 2 to 100 (30 by default), not “${bad || 'empty'}”; the map was not recomputed.`;
      await input.fill(bad);
      await input.press('Enter');
      await page.waitForFunction((m) => document.querySelector('[data-testid="scatter-note"]').textContent === m, message);
      assert.equal(await page.getByTestId('scatter-note').isVisible(), true);
      assert.equal(await input.getAttribute('aria-invalid'), 'true');
      assert.equal(await mapLabel(page), label(n, 10), bad);
      assert.deepEqual(await mapPoints(page), at10, `dots unchanged after perplexity “${bad}”`);
    }

    // Back to 30: the kept map for that perplexity, at once.
    const again = Date.now();
    await input.fill('30');
    await input.press('Enter');
    await waitForLabel(page, label(n, 30));
    assert.ok(Date.now() - again < 2000, 'the perplexity-30 map comes from the kept result');
    assert.equal(await input.getAttribute('aria-invalid'), 'false');
    assert.deepEqual(await mapPoints(page), at30);
    await page.getByTestId('map-method').selectOption('pca');
    await waitForMap(page, 'PCA');
    assert.equal(await input.isVisible(), false);
    assert.deepEqual(ctx.problems, []);
  });
});

/** Engine counters (window.__downstream, ?test-hooks=1). */
async function stats(page) {
  return page.evaluate(() => ({ restarts: window.__downstream.stats.restarts, crashes: window.__downstream.stats.crashes, tsneWorkers: window.__downstream.stats.tsneWorkers ?? 0 }));
}

/** Records every t-SNE iteration the map's note shows (window.__tsneSeen) from now on. */
async function watchTsneProgress(page) {
  await page.evaluate(() => {
    window.__tsneSeen = [];
    const note = document.querySelector('[data-testid="scatter-note"]');
    const read = () => {
      const m = /iteration (\d+) of (\d+)/.exec(note.textContent);
      if (m) window.__tsneSeen.push(Number(m[1]));
    };
    new MutationObserver(read).observe(note, { childList: true, characterData: true, subtree: true });
  });
}

/** Chooses t-SNE and waits until the note shows a few of its iterations (t-SNE is running). */
async function startSlowTsne(page) {
  await watchTsneProgress(page);
  await page.getByTestId('map-method').selectOption('tsne');
  await page.waitForFunction(() => window.__tsneSeen.some((i) => i >= 3), null, { timeout: 60_000, polling: 50 });
  assert.match(await page.getByTestId('scatter-note').textContent(), /^Computing t-SNE of \d+ points… iteration \d+ of 1000 \(choose PCA to stop\)$/);
}

/** Waits up to 10 s for the page to have `count` workers (Playwright sees each dedicated worker). */
async function expectWorkers(page, count, message) {
  const deadline = Date.now() + 10_000;
  while (page.workers().length !== count && Date.now() < deadline) await page.waitForTimeout(100);
  assert.equal(page.workers().length, count, message);
}

async function waitForMap(page, method) {
  await page.waitForFunction(
    (m) => document.querySelector('[data-testid="embedding-scatter"] svg')?.getAttribute('aria-label')?.startsWith(m),
    method,
    { timeout: RUN_TIMEOUT },
  );
}

// The t-SNE worker waits TSNE_DELAY_MS per iteration (test hook), so 1000 iterations take at
// least 40 s: long enough to act while it runs. Before t-SNE had a worker of its own, choosing
// PCA restarted the session worker (restarts + 1, and the k-NN neighbours were gone: the
// gallery said "Neighbours unavailable"), and a Run queued behind t-SNE in the session worker
// until its 1000th iteration; both tests below fail that way.
const TSNE_DELAY_MS = 40;

describe('t-SNE in a worker of its own (k-NN vote demo run)', () => {
  const report = readReport('demo-knn-vote-report.json');
  let ctx;

  before(async () => {
    ctx = await openPage('?test-hooks=1');
    await ctx.page.getByTestId('probe-kind').selectOption('knn_vote');
    await ctx.page.getByTestId('run-demo').click();
    await waitForState(ctx.page, ['results']);
    await waitForMap(ctx.page, 'PCA');
    await ctx.page.evaluate((ms) => {
      window.__downstream.engine.tsneDelayMs = ms;
    }, TSNE_DELAY_MS);
  });
  after(async () => {
    await ctx?.context.close();
  });

  test('choosing PCA while t-SNE runs stops only the t-SNE worker: PCA is drawn and the neighbours still open', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = ctx;
    const n = report.predictions.test_index.length;
    const idleWorkers = page.workers().length;
    assert.ok(idleWorkers >= 1, 'Playwright lists the session worker');
    const before = await stats(page);
    await startSlowTsne(page);
    assert.equal(page.workers().length, idleWorkers + 1, 'one more worker while t-SNE runs');
    assert.equal((await stats(page)).tsneWorkers, before.tsneWorkers + 1);

    await page.getByTestId('map-method').selectOption('pca');
    await waitForMap(page, 'PCA');
    assert.equal((await mapPoints(page)).length, n);
    assert.equal(await page.getByTestId('scatter-note').isVisible(), false, 'no t-SNE note on the PCA map');
    await expectWorkers(page, idleWorkers, 'the t-SNE worker was terminated');
    const after = await stats(page);
    assert.equal(after.restarts, before.restarts, 'the session worker was not restarted');
    assert.equal(after.crashes, 0);
    const seen = await page.evaluate(() => window.__tsneSeen.length);
    await page.waitForTimeout(500);
    assert.equal(await page.evaluate(() => window.__tsneSeen.length), seen, 'no t-SNE progress after PCA was chosen');

    // The session still holds this run's k-NN neighbours: a sample's disclosure lists its 3.
    const cell = page.locator('[data-testid="confusion-matrix"] .cell[data-row="0"][data-col="0"]');
    await cell.click();
    await page.getByTestId('sample-gallery').waitFor({ state: 'visible' });
    const figure = page.locator('[data-testid="sample-gallery"] [data-sample]').first();
    const item = Number(await figure.getAttribute('data-sample'));
    assert.ok(report.predictions.test_index.includes(item));
    await figure.locator('[data-action="neighbours"]').click();
    await page.waitForFunction(
      (item) => {
        const panel = document.querySelector(`[data-sample="${item}"] [data-testid="neighbours"]`);
        return panel && (panel.querySelectorAll('[data-neighbour]').length > 0 || /unavailable/.test(panel.textContent));
      },
      item,
      { timeout: 30_000 },
    );
    const panelText = await figure.getByTestId('neighbours').textContent();
    assert.ok(!/unavailable/.test(panelText), panelText);
    const neighbours = await figure.locator('[data-neighbour]').evaluateAll((els) => els.map((e) => Number(e.dataset.neighbour)));
    assert.equal(neighbours.length, 3, 'k = 3 neighbours of the knn-vote run');
    for (const k of neighbours) assert.ok(!report.predictions.test_index.includes(k), `neighbour ${k} is a training item`);
    await page.keyboard.press('Escape');
    assert.deepEqual(ctx.problems, []);
  });

  test('a Run while t-SNE computes starts at once: its report arrives before t-SNE could end, the map is PCA', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = ctx;
    const idleWorkers = page.workers().length;
    const before = await stats(page);
    await startSlowTsne(page);
    const started = Date.now();
    await page.getByTestId('run').click();
    await waitForState(page, ['results']);
    await waitForMap(page, 'PCA');
    const seconds = (Date.now() - started) / 1000;
    const seen = await page.evaluate(() => window.__tsneSeen);
    console.log(`run during t-SNE: results and PCA map after ${seconds.toFixed(2)} s; t-SNE iterations seen ${seen[0]}..${seen.at(-1)}`);
    // A run behind t-SNE in the session worker would come after iteration 1000 (>= 40 s).
    assert.ok(Math.max(...seen) < 1000, `t-SNE reached iteration ${Math.max(...seen)}: the run waited for it`);
    assert.ok(seconds < (1000 * TSNE_DELAY_MS) / 1000, `the run took ${seconds} s`);
    assert.equal(await page.getByTestId('map-method').inputValue(), 'pca');
    assert.equal((await mapPoints(page)).length, report.predictions.test_index.length);
    await expectWorkers(page, idleWorkers, 'the t-SNE worker was terminated');
    const after = await stats(page);
    assert.equal(after.restarts, before.restarts, 'the session worker was not restarted');
    assert.equal(after.tsneWorkers, before.tsneWorkers + 1);

    // t-SNE of the new report, at full speed now, still draws and links to the gallery.
    await page.evaluate(() => {
      window.__downstream.engine.tsneDelayMs = 0;
    });
    await page.getByTestId('map-method').selectOption('tsne');
    await waitForMap(page, 't-SNE');
    assert.match(await page.getByTestId('scatter-note').textContent(), /^t-SNE of \d+ points \(Barnes-Hut, perplexity 30, 1000 iterations/);
    assert.deepEqual(ctx.problems, []);
  });
});

test('wasm t-SNE equals the native CLI bit for bit, with progress per iteration', { timeout: TEST_TIMEOUT }, async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing; run \`make cli\` (or \`make e2e-reports\`) first`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'downstream-tsne-'));
  let native;
  try {
    const out = path.join(dir, 'coords.csv');
    execFileSync(CLI, ['map', DIGITS, '--method', 'tsne', '--output', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'tsne1,tsne2');
    native = lines.slice(1).flatMap((l) => l.split(',').map((v) => Math.fround(Number(v))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const { data, rows, cols } = readNpyF32(DIGITS);
  assert.equal(native.length, rows * 2);

  const { context, page, problems } = await openPage('', { wait: null });
  try {
    const result = await page.evaluate(
      async ({ values, cols }) => {
        const wasm = await import('/pkg/downstream.js');
        await wasm.default();
        const progress = [];
        const t = wasm.tsne_2d(new Float32Array(values), cols, undefined, (done, total) => progress.push([done, total]));
        let bad = null;
        try {
          wasm.tsne_2d(new Float32Array(values.slice(0, 3 * cols)), cols);
        } catch (err) {
          bad = String(err.message ?? err);
        }
        return { coords: Array.from(t.coords), perplexity: t.perplexity, iterations: t.iterations, method: t.method, progress: [progress.length, progress[0], progress.at(-1)], bad };
      },
      { values: Array.from(data), cols },
    );
    assert.equal(result.method, 'barnes-hut');
    assert.equal(result.perplexity, 30);
    assert.equal(result.iterations, 1000);
    assert.deepEqual(result.progress, [1000, [1, 1000], [1000, 1000]]);
    assert.equal(result.bad, 'invalid rows = 3: t-SNE needs at least 4 rows');
    const f32 = (v) => Math.fround(v);
    const differ = result.coords.map(f32).flatMap((v, k) => (Object.is(v, native[k]) ? [] : [k]));
    const maxDiff = Math.max(0, ...result.coords.map((v, k) => Math.abs(v - native[k])));
    assert.deepEqual(differ, [], `${differ.length} of ${native.length} coordinates differ from the CLI's (max |diff| ${maxDiff})`);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
