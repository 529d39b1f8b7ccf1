// Browser tests of the compare view: two reports on the same test images side by side.
// Expected numbers come from the CLI's `downstream compare --json` on the same two reference
// reports (target/e2e, `make e2e-reports`), which runs the same core code (src/compare.rs).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPORTS_DIR, ROOT, TEST_TIMEOUT, openPage, readReport, requireFile, useBrowser, waitForState } from './helpers.mjs';

useBrowser();

function cliCompare(a, b) {
  const cli = requireFile('target/debug/downstream', 'run `make e2e-reports` (it builds the CLI) first');
  const out = execFileSync(cli, ['compare', '--report-a', path.join(REPORTS_DIR, a), '--report-b', path.join(REPORTS_DIR, b), '--json'], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(out);
}

async function openReport(page, name) {
  const report = readReport(name);
  await page.getByTestId('report-input').setInputFiles({ name, mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(report)) });
  return report;
}

async function waitCompared(page) {
  await page.waitForSelector('[data-testid="compare-view"][data-state]', { timeout: 60_000 });
  return page.getByTestId('compare-view').getAttribute('data-state');
}

describe('compare view', () => {
  test('two report files: McNemar p-value, accuracy difference and its CI equal the CLI’s compare', { timeout: TEST_TIMEOUT }, async () => {
    const expected = cliCompare('demo-report.json', 'demo-knn-vote-report.json');
    const { context, page, problems } = await openPage();
    try {
      const a = await openReport(page, 'demo-report.json');
      await waitForState(page, ['results']);
      await page.getByTestId('compare-start').click();
      assert.match(await page.getByTestId('compare-hint').textContent(), /Kept as A/);
      const b = await openReport(page, 'demo-knn-vote-report.json');
      assert.equal(await waitCompared(page), 'done');
      const read = async (id, attr = 'data-value') => Number(await page.getByTestId(id).getAttribute(attr));
      assert.equal(await read('compare-pvalue'), expected.mcnemar.p_value);
      assert.equal(await read('compare-accuracy-delta'), expected.paired_bootstrap.difference);
      assert.equal(await read('compare-ci', 'data-low'), expected.paired_bootstrap.ci[0]);
      assert.equal(await read('compare-ci', 'data-high'), expected.paired_bootstrap.ci[1]);
      const text = await page.getByTestId('compare-view').textContent();
      assert.ok(text.includes(`only A right ${expected.mcnemar.b}, only B right ${expected.mcnemar.c}`), text);
      // Metric deltas: B − A of the two reports' own numbers.
      const macro = Number(await page.locator('[data-testid="compare-metrics"] tr[data-metric="macro_f1"] td[data-value]').getAttribute('data-value'));
      assert.equal(macro, b.metrics.macro_f1 - a.metrics.macro_f1);
      // Difference matrix: B − A counts of every cell.
      const cells = await page.$$eval('[data-testid="compare-matrix"] .cell', (els) => els.map((e) => [Number(e.dataset.row), Number(e.dataset.col), Number(e.dataset.diff)]));
      const ma = a.metrics.confusion_matrix.matrix;
      const mb = b.metrics.confusion_matrix.matrix;
      assert.equal(cells.length, ma.length * ma.length);
      for (const [i, j, d] of cells) assert.equal(d, mb[i][j] - ma[i][j], `cell ${i},${j}`);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('reports on different test images are refused with the reason', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await openPage();
    try {
      await openReport(page, 'demo-report.json');
      await waitForState(page, ['results']);
      await page.getByTestId('compare-start').click();
      await openReport(page, 'tiny-report.json');
      assert.equal(await waitCompared(page), 'error');
      assert.match(await page.getByTestId('compare-view').textContent(), /cannot be compared: they are on different data sets/);
    } finally {
      await context.close();
    }
  });

  test('a page run kept as A and a second run with another probe as B', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page, problems } = await openPage();
    try {
      await page.getByTestId('run-demo').click();
      await waitForState(page, ['results']);
      const accA = Number(await page.getByTestId('metric-accuracy').getAttribute('data-value'));
      await page.getByTestId('compare-start').click();
      await page.getByTestId('probe-kind').selectOption('knn_vote');
      await page.getByTestId('run').click();
      assert.equal(await waitCompared(page), 'done');
      const accB = Number(await page.getByTestId('metric-accuracy').getAttribute('data-value'));
      const delta = Number(await page.getByTestId('compare-accuracy-delta').getAttribute('data-value'));
      assert.ok(Math.abs(delta - (accA - accB)) < 1e-12, `${delta} vs ${accA} - ${accB}`);
      assert.match(await page.getByTestId('compare-view').textContent(), /knn_vote/);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
