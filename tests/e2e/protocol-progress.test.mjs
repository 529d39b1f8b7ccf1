// Browser tests of the fit progress of protocol presets: the session worker posts
// {phase: 'fits', done, total} after each probe fit (throttled; the first and last always go),
// the page shows "Fitting: D of N fits, about S s left" in the progress text with the bar at
// done / total, and Cancel during a preset stops the busy session worker and starts a fresh
// one with the files and embeddings (the restart path: a cancel message cannot reach a worker
// inside one synchronous wasm call). Expected reports come from the CLI: target/e2e's
// demo-kfold-report.json (`make e2e-reports`) and `downstream eval --protocol clip` run here.
// The test hook ?test-hooks=1 logs the fit messages in window.__downstream.fitProgress, and
// engine.probeDelayMs slows every fit so that the cancel always lands mid-preset.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, TEST_TIMEOUT, assertMatchesReport, openPage, readReport, requireFile, useBrowser, waitForState } from './helpers.mjs';

useBrowser();

const DEMO = '?model=assets/demo/encoder.onnx&data=assets/demo/digits.zip&test-hooks=1';
const stats = (page) => page.evaluate(() => JSON.parse(JSON.stringify(window.__downstream.stats)));
const fitLog = (page) => page.evaluate(() => (window.__downstream.fitProgress ?? []).slice());

/** The CLI's report of the demo under `protocol` (seed 0), as `make e2e-reports` makes them. */
function cliReport(protocol) {
  const cli = requireFile('target/debug/downstream', 'run `make e2e-reports` (it builds the CLI) first');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'downstream-progress-'));
  try {
    const out = path.join(dir, 'report.json');
    execFileSync(
      cli,
      ['eval', '--model', 'assets/demo/encoder.onnx', '--data', 'assets/demo/digits.zip', '--seed', '0', '--protocol', protocol, '--out', out],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return JSON.parse(readFileSync(out, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Records every text the progress line shows, with the bar's value and max at that moment. */
async function watchProgress(page) {
  await page.evaluate(() => {
    const text = document.querySelector('[data-testid="progress-text"]');
    const bar = document.querySelector('[data-testid="progress"]');
    window.__progressSeen = [];
    new MutationObserver(() => {
      window.__progressSeen.push({ text: text.textContent, value: bar.value, max: bar.max });
    }).observe(text, { childList: true, characterData: true, subtree: true });
  });
}
const progressSeen = (page) => page.evaluate(() => window.__progressSeen.slice());

async function downloadReport(page) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
  return JSON.parse(readFileSync(await dl.path(), 'utf8'));
}

/** Same items and predictions as the CLI. Confidences are not compared: wasm's float
 * functions are not the native libm's in the last bits, so L-BFGS can stop at another
 * iteration within its tolerance (up to 1.4e-3 apart on the demo's 5-fold; probe.test.mjs
 * compares predictions only for the same reason). */
function assertSamePredictions(report, cli) {
  const [p, q] = [report.predictions, cli.predictions];
  assert.deepEqual([p.test_index, p.y_true, p.y_pred], [q.test_index, q.y_true, q.y_pred]);
  assert.equal(p.confidence.length, q.confidence.length);
}

/** The fit messages count 1..total in order (some throttled away), the first and last kept. */
function assertFitLog(log, total) {
  assert.ok(log.length >= 2, JSON.stringify(log));
  assert.ok(log.every((m) => m.total === total), `total ${total}: ${JSON.stringify(log)}`);
  assert.equal(log[0].done, 1);
  assert.equal(log[log.length - 1].done, total);
  assert.ok(log.every((m, i) => i === 0 || m.done > log[i - 1].done), 'done increases');
}

/** The page showed "Fitting: D of N fits …" with the bar at D / N, up to N of N. */
function assertFitTexts(seen, total) {
  const fits = seen.filter((s) => s.text.startsWith('Fitting:'));
  assert.ok(fits.length >= 2, JSON.stringify(seen));
  for (const s of fits) {
    const m = s.text.match(/^Fitting: (\d+) of (\d+) fits(, about \d+ s left|, about \d+ min left|, less than a second left)?$/);
    assert.ok(m, `progress text: ${s.text}`);
    const done = Number(m[1]);
    assert.equal(Number(m[2]), total, s.text);
    assert.equal(s.max, total, `bar max at ${s.text}`);
    assert.equal(s.value, done, `bar value at ${s.text}`);
    assert.equal(m[3] === undefined, done === total, `time left shown until the last fit: ${s.text}`);
  }
  assert.equal(fits[fits.length - 1].text, `Fitting: ${total} of ${total} fits`);
  assert.equal(fits[fits.length - 1].value, total, 'the bar reaches the end');
}

describe('protocol fit progress', () => {
  test('stratified 5-fold shows fits 1..5 of 5 in the bar and gives the CLI --protocol kfold report', { timeout: TEST_TIMEOUT }, async () => {
    const cli = readReport('demo-kfold-report.json');
    const { context, page, problems } = await openPage(DEMO);
    try {
      await page.getByTestId('protocol').selectOption('kfold');
      await watchProgress(page);
      await page.getByTestId('run').click();
      await waitForState(page, ['results']);
      assertFitLog(await fitLog(page), 5);
      assertFitTexts(await progressSeen(page), 5);
      await assertMatchesReport(page, cli);
      const report = await downloadReport(page);
      assert.deepEqual(report.protocol.runs, cli.protocol.runs);
      assertSamePredictions(report, cli);
      assert.deepEqual(report.metrics.accuracy, cli.metrics.accuracy);
      // A plain hold-out afterwards posts no fit messages, only probe iterations.
      await page.evaluate(() => window.__downstream.fitProgress.splice(0));
      await page.getByTestId('protocol').selectOption('holdout');
      await page.getByTestId('run').click();
      await waitForState(page, ['results']);
      assert.deepEqual(await fitLog(page), []);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('the CLIP preset shows fits 1..24 of 24 (7 + 2 x 8 validation fits + refit) and gives the CLI report', { timeout: TEST_TIMEOUT }, async () => {
    const cli = cliReport('clip');
    const { context, page, problems } = await openPage(DEMO);
    try {
      await page.getByTestId('protocol').selectOption('clip');
      await watchProgress(page);
      await page.getByTestId('run').click();
      await waitForState(page, ['results']);
      const total = 7 + 2 * 8 + 1;
      assertFitLog(await fitLog(page), total);
      assertFitTexts(await progressSeen(page), total);
      await assertMatchesReport(page, cli);
      const report = await downloadReport(page);
      assert.equal(report.protocol.c_searches[0].trials.length + 1, total);
      assert.deepEqual(report.protocol.c_searches, cli.protocol.c_searches);
      assert.deepEqual(report.protocol.runs, cli.protocol.runs);
      assertSamePredictions(report, cli);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('Cancel during the CLIP preset leaves a ready page with the data; the next Run works', { timeout: TEST_TIMEOUT }, async () => {
    const cli = readReport('demo-kfold-report.json');
    const { context, page, problems } = await openPage(DEMO);
    try {
      await page.getByTestId('protocol').selectOption('clip');
      await page.evaluate(() => {
        window.__downstream.engine.probeDelayMs = 300;
      });
      await page.getByTestId('run').click();
      await page.waitForFunction(() => (window.__downstream.fitProgress ?? []).length > 0, null, { timeout: 60_000, polling: 'raf' });
      assert.match(await page.getByTestId('progress-text').textContent(), /^Fitting: 1 of 24 fits/);
      assert.match(await page.locator('#status').textContent(), /probe fit 1 of 24/);
      const before = await stats(page);
      await page.getByTestId('cancel').click();
      await waitForState(page, ['ready']);
      assert.match(await page.locator('#status').textContent(), /Cancelled/);
      assert.equal(await page.getByTestId('error-message').isVisible(), false);
      assert.match(await page.locator('#model-info').textContent(), /encoder\.onnx/);
      assert.match(await page.locator('#data-info').textContent(), /digits\.zip/);
      const after = await stats(page);
      assert.equal(after.restarts, before.restarts + 1, 'the busy session worker was replaced');
      assert.equal(after.crashes, 0);
      assert.equal(await page.evaluate(() => window.__downstream.engine.embedded), true, 'embeddings restored');
      const log = await fitLog(page);
      assert.ok(log[log.length - 1].done < 24, `the preset stopped early: ${JSON.stringify(log)}`);

      await page.evaluate(() => {
        window.__downstream.engine.probeDelayMs = 0;
      });
      await page.getByTestId('protocol').selectOption('kfold');
      await page.getByTestId('run').click();
      await waitForState(page, ['results']);
      await assertMatchesReport(page, cli);
      const second = await stats(page);
      assert.equal(second.embedRanges, after.embedRanges, 'the second Run did not embed again');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
