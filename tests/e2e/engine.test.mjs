// Browser tests of the engine: parallel embedding gives the single-worker result bit for
// bit, the embedding cache skips re-embedding, Cancel stops every worker, and a wasm trap
// is recovered without losing the loaded files. Test hooks (?test-hooks=1) expose the
// engine's counters on window.__downstream and accept a '__crash' request.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  TEST_TIMEOUT,
  assertMatchesReport,
  dataValue,
  errorText,
  openPage,
  readMatrix,
  readReport,
  useBrowser,
  waitForState,
} from './helpers.mjs';

useBrowser();

const stats = (page) => page.evaluate(() => JSON.parse(JSON.stringify(window.__downstream.stats)));
const capabilities = (page) => page.evaluate(() => window.__downstream.engine.main.capabilities);

async function downloadedReport(page) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
  return readFileSync(await dl.path(), 'utf8');
}

/** Runs the demo and returns what the results view and the report file say. */
async function demoRun(page) {
  await page.getByTestId('run-demo').click();
  await waitForState(page, ['results']);
  return {
    accuracy: await dataValue(page, 'metric-accuracy'),
    matrix: await readMatrix(page),
    reportJson: await downloadedReport(page),
  };
}

describe('parallel embedding', () => {
  test('?workers=3 gives the same embeddings and report as ?workers=1', { timeout: TEST_TIMEOUT }, async () => {
    const cliReport = readReport('demo-report.json');
    const runs = {};
    for (const workers of [1, 3]) {
      const { context, page, problems } = await openPage(`?test-hooks=1&cache=0&workers=${workers}`);
      try {
        runs[workers] = await demoRun(page);
        await assertMatchesReport(page, cliReport);
        const s = await stats(page);
        if ((await capabilities(page)).embedRange) {
          assert.equal(s.lastRun.workers, workers, 'pool size');
          assert.ok(Object.values(s.lastRun.perWorker).every((n) => n > 0), `every worker embedded: ${JSON.stringify(s.lastRun.perWorker)}`);
          runs[workers].checksum = (await page.evaluate(() => window.__downstream.engine.embedOnly())).checksum;
        }
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    }
    assert.equal(runs[3].accuracy, runs[1].accuracy);
    assert.deepEqual(runs[3].matrix, runs[1].matrix);
    assert.equal(runs[3].reportJson, runs[1].reportJson, 'the report files are byte-identical');
    assert.equal(runs[3].checksum, runs[1].checksum, 'the embeddings are bit-identical');
  });

  test('Cancel stops every worker and leaves a usable page', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await openPage('?test-hooks=1&cache=0&workers=3');
    try {
      await page.getByTestId('run-demo').click();
      await page.waitForFunction(() => document.getElementById('progress').value > 0 || document.body.className !== 'running', null, { polling: 'raf' });
      await page.keyboard.press('Escape');
      await page.waitForFunction(() => document.body.className !== 'running', null, { timeout: 60_000 });
      const status = await page.locator('#status').textContent();
      if ((await page.evaluate(() => document.body.className)) !== 'results') {
        assert.equal(status, 'Cancelled.');
      }
      const report = readReport('demo-report.json');
      await demoRun(page);
      await assertMatchesReport(page, report);
    } finally {
      await context.close();
    }
  });
});

describe('embedding cache', () => {
  test('a second run on the same model and data does not embed again; Clear cache forgets', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await openPage('?test-hooks=1&workers=2');
    try {
      if (!(await capabilities(page)).setEmbeddings) {
        assert.fail('pkg/ has no Session.set_embeddings: rebuild with `make build`');
      }
      const first = await demoRun(page);
      assert.equal(await page.getByTestId('cache-note').isVisible(), false);

      // Another seed in the same page: the session worker keeps its embeddings.
      const before = await stats(page);
      await page.getByTestId('seed').fill('1');
      await page.getByTestId('run').click();
      await waitForState(page, ['results']);
      let after = await stats(page);
      assert.equal(after.embedRanges + after.embedSteps, before.embedRanges + before.embedSteps, 'no embedding calls');
      assert.match(await page.getByTestId('cache-note').textContent(), /reused/);

      // A fresh page (same browser profile): the embeddings come from IndexedDB.
      await page.reload();
      await waitForState(page, ['ready']);
      const again = await demoRun(page);
      after = await stats(page);
      assert.equal(after.embedRanges + after.embedSteps, 0, 'no embedding calls after a reload');
      assert.equal(after.lastRun.embeddings, 'cache');
      assert.ok(await page.getByTestId('cache-note').isVisible());
      assert.match(await page.getByTestId('cache-note').textContent(), /Embeddings from cache/);
      assert.equal(again.reportJson, first.reportJson, 'cached embeddings give the same report');

      await page.getByTestId('clear-cache').click();
      await page.waitForFunction(() => /Cleared 1 cached set/.test(document.getElementById('status').textContent));
      await page.reload();
      await waitForState(page, ['ready']);
      await demoRun(page);
      after = await stats(page);
      assert.ok(after.embedRanges > 0, 'embedded again after Clear cache');
      assert.equal(await page.getByTestId('cache-note').isVisible(), false);
    } finally {
      await context.close();
    }
  });
});

describe('crash recovery', () => {
  test('a wasm trap shows a message, restarts the worker and keeps the loaded files', { timeout: TEST_TIMEOUT }, async () => {
    const report = readReport('demo-report.json');
    const { context, page } = await openPage('?test-hooks=1&workers=2');
    try {
      await demoRun(page);
      const crash = await page.evaluate(() =>
        window.__downstream.engine.crash().then(
          () => 'no trap',
          (e) => ({ message: e.message, crashed: e.crashed }),
        ),
      );
      assert.deepEqual(crash, { message: 'RuntimeError: unreachable', crashed: true });
      await page.waitForFunction(() => window.__downstream.stats.recoveries === 1, null, { timeout: 60_000 });
      assert.equal(await page.evaluate(() => document.body.className), 'error');
      const message = await errorText(page);
      assert.match(message, /The WebAssembly engine stopped unexpectedly \(RuntimeError: unreachable\)/);
      assert.match(message, /your model and data were reloaded, so nothing is lost/);
      assert.match(await page.locator('#data-info').textContent(), /digits\.zip/);
      assert.equal(await page.getByTestId('run').isEnabled(), true);

      await page.getByTestId('run').click();
      await waitForState(page, ['results']);
      await assertMatchesReport(page, report);
      assert.equal(await page.getByTestId('error-message').isVisible(), false, 'a good run clears the message');
    } finally {
      await context.close();
    }
  });

  test('without ?test-hooks=1 there is no crash hook', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await openPage();
    try {
      assert.equal(await page.evaluate(() => typeof window.__downstream), 'undefined');
    } finally {
      await context.close();
    }
  });
});
