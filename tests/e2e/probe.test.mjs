// Browser tests of the probe phase: progress messages per L-BFGS iteration (and MLP epoch),
// Cancel while the probe trains, protocol presets and an uploaded ONNX head (the page's
// reports equal the CLI's). The fit is one synchronous wasm call, so Cancel stops
// the session worker and starts a fresh one with the model, data and embeddings; the page
// must end in `ready` with everything still loaded and the next Run must not embed again.
// The test hook ?test-hooks=1 exposes the engine and the probe progress log on
// window.__downstream, and engine.probeDelayMs slows every probe step so that the cancel
// (sent when the first progress message is seen) always lands during the fit.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, TEST_TIMEOUT, assertMatchesReport, errorText, openPage, readReport, useBrowser, waitForState } from './helpers.mjs';

useBrowser();

const DEMO = '?model=assets/demo/encoder.onnx&data=assets/demo/digits.zip';
const stats = (page) => page.evaluate(() => JSON.parse(JSON.stringify(window.__downstream.stats)));
const progressLog = (page) => page.evaluate(() => window.__downstream.probeProgress.slice());

describe('probe progress', () => {
  test('logistic regression reports its iterations and loss, the MLP its epochs', { timeout: TEST_TIMEOUT }, async () => {
    const report = readReport('demo-report.json');
    const { context, page, problems } = await openPage(`${DEMO}&test-hooks=1`);
    try {
      await page.getByTestId('run').click();
      await waitForState(page, ['results']);
      await assertMatchesReport(page, report);
      const log = await progressLog(page);
      assert.ok(log.length >= 2, `probe progress messages: ${JSON.stringify(log)}`);
      assert.deepEqual(log[0].iteration, 1);
      assert.ok(log.every((m) => m.maxIter === 1000 && m.unit === 'iteration' && Number.isFinite(m.loss)));
      assert.ok(log.every((m, i) => i === 0 || m.iteration > log[i - 1].iteration), 'iterations increase');
      // The page's own report (wasm iterations can differ from the native CLI's in number).
      const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
      const own = JSON.parse(readFileSync(await dl.path(), 'utf8'));
      // The last message may be throttled away, but never one past the fit's own count.
      const last = log[log.length - 1].iteration;
      assert.ok(last <= own.probe.iterations, `${last} <= ${own.probe.iterations}`);
      // The loss reported is the scaled objective; the report's curve is it times C * n_train.
      const scale = own.probe.c * own.protocol.n_train;
      const curve = own.probe.loss_per_iteration;
      assert.equal(curve.length, own.probe.iterations);
      for (const m of log) {
        const want = curve[m.iteration - 1];
        assert.ok(Math.abs(m.loss * scale - want) <= 1e-9 * want, `iteration ${m.iteration}: ${m.loss * scale} vs ${want}`);
      }

      await page.evaluate(() => window.__downstream.probeProgress.splice(0));
      await page.getByTestId('probe-kind').selectOption('mlp');
      await page.getByTestId('run').click();
      await waitForState(page, ['results']);
      const mlp = await progressLog(page);
      assert.ok(mlp.length >= 2 && mlp.every((m) => m.unit === 'epoch' && m.maxIter === 50), JSON.stringify(mlp));
      assert.equal(mlp[mlp.length - 1].iteration, 50, 'the last epoch is always posted');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

describe('cancel during the probe', () => {
  for (const cache of ['on', 'off']) {
    test(`leaves a ready page with model, data and embeddings (cache ${cache}); Run again gives the CLI report`, { timeout: TEST_TIMEOUT }, async () => {
      const report = readReport('demo-report.json');
      const { context, page, problems } = await openPage(`${DEMO}&test-hooks=1${cache === 'off' ? '&cache=0' : ''}`);
      try {
        await page.evaluate(() => {
          window.__downstream.engine.probeDelayMs = 200;
        });
        await page.getByTestId('run').click();
        await page.waitForFunction(() => window.__downstream.probeProgress.length > 0, null, { timeout: 60_000, polling: 'raf' });
        assert.match(await page.getByTestId('progress-text').textContent(), /^iteration 1 of at most 1000$/);
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
        assert.equal(await page.getByTestId('run').isEnabled(), true);

        await page.evaluate(() => {
          window.__downstream.engine.probeDelayMs = 0;
        });
        await page.getByTestId('run').click();
        await waitForState(page, ['results']);
        await assertMatchesReport(page, report);
        const second = await stats(page);
        assert.equal(second.embedRanges, after.embedRanges, 'the second Run did not embed again');
        assert.equal(second.lastRun.embeddings, 'reused');
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });
  }
});

describe('protocol presets', () => {
  test('the protocol select (by keyboard) runs stratified 5-fold and gives the CLI --protocol kfold report', { timeout: TEST_TIMEOUT }, async () => {
    const cli = readReport('demo-kfold-report.json');
    const { context, page, problems } = await openPage(DEMO);
    try {
      const select = page.getByTestId('protocol');
      assert.equal(await select.inputValue(), 'holdout');
      assert.match(await page.locator(`#${await select.getAttribute('aria-describedby')}`).textContent(), /mean ± std/);
      await select.focus();
      await page.keyboard.press('ArrowDown');
      assert.equal(await select.inputValue(), 'kfold');
      await page.getByTestId('run').click();
      await waitForState(page, ['results']);
      await assertMatchesReport(page, cli);
      assert.match(await page.locator('#status').textContent(), /Protocol stratified_kfold: accuracy \d\.\d{4} ± \d\.\d{4} over 5 runs/);
      const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
      const report = JSON.parse(readFileSync(await dl.path(), 'utf8'));
      assert.equal(report.protocol.name, 'stratified_kfold');
      assert.deepEqual(report.protocol.settings, { name: 'kfold', folds: 5 });
      assert.equal(report.protocol.metrics_from, cli.protocol.metrics_from);
      assert.deepEqual(
        report.protocol.runs.map((r) => [r.run, r.n_train, r.n_test, r.accuracy, r.macro_f1]),
        cli.protocol.runs.map((r) => [r.run, r.n_train, r.n_test, r.accuracy, r.macro_f1]),
      );
      assert.deepEqual(report.protocol.accuracy, cli.protocol.accuracy);
      assert.deepEqual(report.predictions.y_pred, cli.predictions.y_pred);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

describe('uploaded ONNX head', () => {
  test('the head file is scored on the test split like the CLI eval --head; a mismatched head is refused', { timeout: TEST_TIMEOUT }, async () => {
    const cli = readReport('demo-head-report.json');
    const { context, page, problems } = await openPage(DEMO);
    try {
      assert.equal(await page.getByTestId('head-file').isVisible(), false, 'hidden until the ONNX head probe is chosen');
      await page.getByTestId('probe-kind').selectOption('onnx_head');
      await page.getByTestId('run').click();
      await waitForState(page, ['error']);
      assert.match(await errorText(page), /needs a head file/);

      await page.getByTestId('head-file').setInputFiles(path.join(ROOT, 'tests/fixtures/head/k3_head.onnx'));
      // The head loads (its class count is checked against the data when it is scored).
      await page.waitForFunction(() => /ONNX head k3_head\.onnx loaded/.test(document.querySelector('#status').textContent), null, { timeout: 30_000 });
      await page.getByTestId('run').click();
      await waitForState(page, ['error']);
      assert.match(await errorText(page), /the head 'k3_head\.onnx' outputs 3 class scores, but the data set has 10 classes/);

      await page.getByTestId('head-file').setInputFiles(path.join(ROOT, 'tests/fixtures/head/digits_head_proba.onnx'));
      await page.waitForFunction(() => /ONNX head digits_head_proba\.onnx loaded/.test(document.querySelector('#status').textContent), null, { timeout: 30_000 });
      assert.equal(await page.getByTestId('error-message').isVisible(), false);
      await page.getByTestId('run').click();
      await waitForState(page, ['results']);
      await assertMatchesReport(page, cli);
      const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
      const report = JSON.parse(readFileSync(await dl.path(), 'utf8'));
      assert.equal(report.probe.kind, 'onnx_head');
      assert.deepEqual(report.probe.head, cli.probe.head);
      assert.deepEqual(report.predictions.y_pred, cli.predictions.y_pred);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
