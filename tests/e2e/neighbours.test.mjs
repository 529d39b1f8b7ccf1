// Browser tests of the gallery's k-NN neighbours (issue 5): for a k-NN report of this page's
// run, each sample's "Neighbours" disclosure lists the k training samples that voted, and
// their votes give the sample's predicted class. The expected split (which items are test
// items) is the CLI's `eval --probe knn-vote` report on the same files (make e2e-reports).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { openPage, readReport, TEST_TIMEOUT, useBrowser, waitForState } from './helpers.mjs';

useBrowser();

/** Runs the demo with a probe kind chosen on the page. */
async function runDemo(page, kind) {
  await page.getByTestId('probe-kind').selectOption(kind);
  await page.getByTestId('run-demo').click();
  await waitForState(page, ['results']);
}

/** A matrix cell with at least `min` samples: off-diagonal when `off`, else diagonal. */
async function findCell(page, { off, min = 1 }) {
  const cells = await page.$$eval('[data-testid="confusion-matrix"] .cell', (els) =>
    els.map((e) => ({ row: Number(e.dataset.row), col: Number(e.dataset.col), count: Number(e.dataset.count) })),
  );
  const cell = cells.find((c) => (c.row !== c.col) === off && c.count >= min);
  assert.ok(cell, `the demo report has ${off ? 'an off-diagonal' : 'a diagonal'} cell with ${min}+ samples`);
  return cell;
}

async function openCell(page, { row, col }) {
  await page.locator(`[data-testid="confusion-matrix"] .cell[data-row="${row}"][data-col="${col}"]`).click();
  await page.getByTestId('sample-gallery').waitFor({ state: 'visible' });
}

/** Opens sample `item`'s neighbours and reads them once thumbnails are in. */
async function readNeighbours(page, item, k) {
  const figure = page.locator(`[data-testid="sample-gallery"] [data-sample="${item}"]`);
  const button = figure.locator('[data-action="neighbours"]');
  assert.equal(await button.getAttribute('aria-expanded'), 'false');
  await button.click();
  assert.equal(await button.getAttribute('aria-expanded'), 'true');
  const panel = figure.getByTestId('neighbours');
  await panel.waitFor({ state: 'visible' });
  await page.waitForFunction(
    ({ item, k }) => {
      const imgs = document.querySelectorAll(`[data-sample="${item}"] [data-neighbour] img`);
      return imgs.length === k && [...imgs].every((i) => i.complete && i.naturalWidth > 0);
    },
    { item, k },
  );
  return panel.locator('[data-neighbour]').evaluateAll((els) =>
    els.map((e) => ({
      item: Number(e.dataset.neighbour),
      label: Number(e.dataset.label),
      similarity: Number(e.dataset.similarity),
      weight: Number(e.dataset.weight),
      className: e.querySelector('.neighbour-class').textContent,
      path: e.querySelector('.sample-path').textContent,
    })),
  );
}

/** Class with the largest summed weight (ties to the lowest class index) and its share. */
function weightedVote(neighbours, nClasses) {
  const sums = new Array(nClasses).fill(0);
  for (const n of neighbours) sums[n.label] += n.weight;
  let best = 0;
  sums.forEach((v, c) => {
    if (v > sums[best]) best = c;
  });
  return { best, share: sums[best] / sums.reduce((a, b) => a + b, 0) };
}

/** Checks what every k-NN neighbour list must satisfy. */
function checkNeighbours(neighbours, k, { labels, testItems }) {
  assert.equal(neighbours.length, k);
  assert.equal(new Set(neighbours.map((n) => n.item)).size, k, 'k different training samples');
  for (const [i, n] of neighbours.entries()) {
    assert.ok(!testItems.has(n.item), `neighbour ${n.item} is a training sample, not a test sample`);
    // The class shown is the neighbour's own folder in the zip (digits/<class>/<file>.png).
    assert.equal(n.className, labels[n.label]);
    assert.equal(n.path.split('/')[0], labels[n.label]);
    assert.ok(n.similarity <= 1 + 1e-6 && n.similarity >= -1 - 1e-6);
    if (i > 0) assert.ok(neighbours[i - 1].similarity >= n.similarity, 'most similar first');
  }
}

describe('k-NN neighbours in the sample gallery', () => {
  test('knn-vote: each sample lists its 3 neighbours, whose majority is the prediction', { timeout: TEST_TIMEOUT }, async () => {
    const report = readReport('demo-knn-vote-report.json');
    const labels = report.metrics.confusion_matrix.labels;
    const p = report.predictions;
    const testItems = new Set(p.test_index);
    const { context, page, problems } = await openPage();
    try {
      await runDemo(page, 'knn_vote');
      for (const cell of [await findCell(page, { off: true }), await findCell(page, { off: false, min: 2 })]) {
        await openCell(page, cell);
        const items = await page.$$eval('[data-testid="sample-gallery"] [data-sample]', (els) => els.map((e) => Number(e.dataset.sample)));
        for (const item of items.slice(0, 3)) {
          const neighbours = await readNeighbours(page, item, 3);
          checkNeighbours(neighbours, 3, { labels, testItems });
          assert.ok(neighbours.every((n) => n.weight === 1), 'one vote each');
          // Majority of the 3 labels, ties to the lowest class index = the cell's prediction.
          const { best, share } = weightedVote(neighbours, labels.length);
          assert.equal(best, cell.col, `item ${item}: neighbours ${JSON.stringify(neighbours)}`);
          const k = p.test_index.indexOf(item);
          assert.equal(p.y_pred[k], cell.col);
          assert.equal(share, p.confidence[k], 'confidence = votes / k');
        }
      }
      // Keyboard: the disclosure is a button; Enter closes and opens it again.
      const button = page.locator('[data-testid="sample-gallery"] [data-action="neighbours"]').first();
      await button.focus();
      const expanded = await button.getAttribute('aria-expanded');
      await page.keyboard.press('Enter');
      assert.notEqual(await button.getAttribute('aria-expanded'), expanded);
      await page.keyboard.press('Enter');
      assert.equal(await button.getAttribute('aria-expanded'), expanded);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('weighted k-NN: the 20 neighbours\' summed weights per class pick the prediction', { timeout: TEST_TIMEOUT }, async () => {
    const split = readReport('demo-knn-vote-report.json');
    const labels = split.metrics.confusion_matrix.labels;
    const testItems = new Set(split.predictions.test_index);
    const { context, page, problems } = await openPage();
    try {
      await runDemo(page, 'knn_weighted');
      for (const cell of [await findCell(page, { off: true }), await findCell(page, { off: false })]) {
        await openCell(page, cell);
        const figures = page.locator('[data-testid="sample-gallery"] [data-sample]');
        const item = Number(await figures.first().getAttribute('data-sample'));
        const confidence = Number(await figures.first().locator('.sample-confidence').getAttribute('data-value'));
        const neighbours = await readNeighbours(page, item, 20);
        checkNeighbours(neighbours, 20, { labels, testItems });
        for (const n of neighbours) {
          // DINO's weight exp(sim / 0.07) of the similarity shown.
          assert.ok(Math.abs(n.weight / Math.exp(n.similarity / 0.07) - 1) < 1e-6);
        }
        const { best, share } = weightedVote(neighbours, labels.length);
        assert.equal(best, cell.col, `item ${item}`);
        assert.ok(Math.abs(share - confidence) < 1e-9, `share ${share} vs confidence ${confidence}`);
      }
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('a logistic-regression report has no neighbours button', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page, problems } = await openPage();
    try {
      await runDemo(page, 'logistic_regression');
      await openCell(page, await findCell(page, { off: false }));
      assert.ok(await page.locator('[data-testid="sample-gallery"] [data-sample]').count() > 0);
      assert.equal(await page.locator('[data-testid="sample-gallery"] [data-action="neighbours"]').count(), 0);
      assert.equal(await page.locator('[data-testid="sample-gallery"] [data-testid="neighbours"]').count(), 0);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
