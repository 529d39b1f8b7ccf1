// Shared helpers of the browser tests: static server, Chromium, page states, reading the results view.
//
// Needs: pkg/ (make build), the demo assets, and target/e2e/{demo,tiny}-report.json
// written by the native CLI (make e2e-reports).
// Env: CHROMIUM_PATH (default /usr/bin/chromium), DOWNSTREAM_E2E_REPORTS (default target/e2e).

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../tools/serve.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const RUN_TIMEOUT = 120_000;
export const TEST_TIMEOUT = 180_000;

/** Where the CLI reference reports live; override for ad-hoc runs. */
export const REPORTS_DIR = process.env.DOWNSTREAM_E2E_REPORTS || path.join(ROOT, 'target/e2e');
export const DEMO_MODEL = path.join(ROOT, 'assets/demo/encoder.onnx');
export const TINY_DATA = path.join(ROOT, 'tests/fixtures/data/tiny.zip');

export function requireFile(rel, hint) {
  const file = path.join(ROOT, rel);
  assert.ok(existsSync(file), `${rel} is missing; ${hint}`);
  return file;
}

/** Reads a CLI reference report, failing with instructions if it is missing. */
export function readReport(name) {
  const file = path.join(REPORTS_DIR, name);
  assert.ok(
    existsSync(file),
    `${file} is missing; run \`make e2e-reports\` first (it writes the reference reports with the native CLI)`,
  );
  return JSON.parse(readFileSync(file, 'utf8'));
}

export let browser;
export let server;

/** Registers hooks that start the static server and Chromium for this test file. */
export function useBrowser() {
  before(async () => {
    requireFile('pkg/downstream.js', 'run `make build` first');
    requireFile('pkg/downstream_bg.wasm', 'run `make build` first');
    requireFile('pkg/downstream_full.js', 'run `make build` first');
    requireFile('pkg/downstream_full_bg.wasm', 'run `make build` first');
    for (const file of ['downstream.js', 'downstream_bg.wasm', 'downstream_full.js', 'downstream_full_bg.wasm']) {
      requireFile(`pkg/relaxed/${file}`, 'run `make build` first');
    }
    assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`);
    server = await startServer({ port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });
}

/**
 * Opens the page (at server.url + suffix), collecting page errors and console errors (CSP
 * violations land there) and requests; waits for one of the `wait` states.
 */
export async function openPage(suffix = '', { wait = ['ready'], viewport } = {}) {
  const context = await browser.newContext({ acceptDownloads: true, viewport });
  const page = await context.newPage();
  const problems = [];
  const requests = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('request', (req) => requests.push(req.url()));
  await page.goto(server.url + suffix);
  if (wait) await waitForState(page, wait, 60_000);
  return { context, page, problems, requests };
}

export async function bodyClass(page) {
  return page.evaluate(() => document.body.className);
}

export async function errorText(page) {
  return page.locator('[data-testid="error-message"]').textContent();
}

/** Waits until body has one of the wanted classes or `error`; fails with the error text otherwise. */
export async function waitForState(page, wanted, timeout = RUN_TIMEOUT) {
  const states = [...new Set([...wanted, 'error'])];
  await page.waitForFunction(
    (s) => s.includes(document.body.className),
    states,
    { timeout, polling: 100 },
  );
  const cls = await bodyClass(page);
  if (!wanted.includes(cls)) {
    assert.fail(`page went to "${cls}" instead of ${wanted.join('/')}: ${await errorText(page)}`);
  }
  return cls;
}

/** Reads the heatmap cells back into a matrix of counts. */
export async function readMatrix(page) {
  const cells = await page.$$eval('[data-testid="confusion-matrix"] [data-row][data-col]', (els) =>
    els.map((e) => [Number(e.dataset.row), Number(e.dataset.col), Number(e.dataset.count)]),
  );
  const n = Math.round(Math.sqrt(cells.length));
  assert.equal(n * n, cells.length, `confusion matrix has ${cells.length} cells, not a square`);
  const matrix = Array.from({ length: n }, () => new Array(n).fill(null));
  for (const [r, c, count] of cells) matrix[r][c] = count;
  return matrix;
}

export async function dataValue(page, testid) {
  return page.locator(`[data-testid="${testid}"]`).getAttribute('data-value');
}

/** Checks headline metrics, matrix and per-class table against a CLI report. */
export async function assertMatchesReport(page, report) {
  const m = report.metrics;
  assert.equal(await dataValue(page, 'metric-accuracy'), String(m.accuracy));
  assert.equal(await dataValue(page, 'metric-macro-f1'), String(m.macro_f1));
  assert.equal(
    (await page.locator('[data-testid="metric-accuracy"]').textContent()).trim(),
    m.accuracy.toFixed(4),
  );

  const matrix = await readMatrix(page);
  assert.deepEqual(matrix, m.confusion_matrix.matrix);
  const sum = matrix.flat().reduce((a, b) => a + b, 0);
  assert.equal(sum, report.protocol.n_test);

  const axisLabels = await page.$$eval(
    '[data-testid="confusion-matrix"] .row-labels title',
    (els) => els.map((e) => e.textContent),
  );
  assert.deepEqual(axisLabels, m.confusion_matrix.labels);

  const rows = await page.$$eval('[data-testid="per-class-table"] tbody tr', (trs) =>
    trs.map((tr) => [tr.dataset.class, ...[...tr.querySelectorAll('td')].map((td) => td.dataset.value)]),
  );
  assert.deepEqual(
    rows,
    m.confusion_matrix.labels.map((l) => {
      const c = m.per_class[l];
      return [l, String(c.precision), String(c.recall), String(c.f1), String(c.support)];
    }),
  );
}

