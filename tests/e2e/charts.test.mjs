// SVG snapshot tests of the chart functions in www/charts.js, run in the browser on fixed
// inputs. Numbers are normalised to 3 decimals so the snapshots do not depend on float
// formatting. `UPDATE_SNAPSHOTS=1 node --test tests/e2e/charts.test.mjs` rewrites them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, TEST_TIMEOUT, openPage, useBrowser } from './helpers.mjs';

useBrowser();

const SNAPSHOTS = path.join(ROOT, 'tests/e2e/snapshots');
const UPDATE = process.env.UPDATE_SNAPSHOTS === '1';

/** Fixed inputs: [snapshot name, chart function, arguments]. */
const CASES = [
  ['cm-2-counts', 'confusionMatrixSvg', [['neg', 'pos'], [[5, 1], [2, 7]], { normalize: 'none' }]],
  ['cm-3-true-by-error', 'confusionMatrixSvg', [['cat', 'dog', 'a <very> long & "quoted" label'], [[4, 1, 0], [2, 2, 1], [0, 0, 0]], { normalize: 'true', sort: 'error' }]],
  ['cm-3-pred', 'confusionMatrixSvg', [['cat', 'dog', 'fish'], [[4, 1, 0], [2, 2, 1], [0, 3, 5]], { normalize: 'pred' }]],
  ['cm-3-all', 'confusionMatrixSvg', [['cat', 'dog', 'fish'], [[4, 1, 0], [2, 2, 1], [0, 3, 5]], { normalize: 'all' }]],
  [
    'bars-3',
    'perClassBarsSvg',
    [
      ['cat', 'dog', 'fish'],
      {
        cat: { precision: 0.6666666666666666, recall: 0.8, f1: 0.7272727272727273, support: 5 },
        dog: { precision: 0.3333333333333333, recall: 0.4, f1: 0.36363636363636365, support: 5 },
        fish: { precision: 0.8333333333333334, recall: 0.625, f1: 0.7142857142857143, support: 4 },
      },
    ],
  ],
];

/** One element per line, every decimal number with 3 decimals. */
function normalise(svg) {
  return `${svg
    .replace(/-?\d+\.\d+(?:e[+-]?\d+)?/gi, (x) => Number(x).toFixed(3))
    .replace(/-0\.000/g, '0.000')
    .replaceAll('><', '>\n<')}\n`;
}

test('chart functions match their SVG snapshots', { timeout: TEST_TIMEOUT }, async () => {
  const { context, page } = await openPage('', { wait: null });
  try {
    const rendered = await page.evaluate(async (cases) => {
      const charts = await import('/www/charts.js');
      return cases.map(([name, fn, args]) => [name, charts[fn](...args).outerHTML]);
    }, CASES);
    if (UPDATE) mkdirSync(SNAPSHOTS, { recursive: true });
    const missing = [];
    for (const [name, svg] of rendered) {
      const file = path.join(SNAPSHOTS, `${name}.svg`);
      const actual = normalise(svg);
      if (UPDATE) {
        writeFileSync(file, actual);
        continue;
      }
      if (!existsSync(file)) {
        missing.push(name);
        continue;
      }
      assert.equal(actual, readFileSync(file, 'utf8'), `${name}.svg differs from its snapshot (UPDATE_SNAPSHOTS=1 rewrites it)`);
    }
    assert.deepEqual(missing, [], 'snapshots missing; run with UPDATE_SNAPSHOTS=1 to write them');
  } finally {
    await context.close();
  }
});

test('normalised snapshot values are scikit-learn’s', { timeout: TEST_TIMEOUT }, async () => {
  // confusion_matrix([...], normalize='pred') of the cm-3-pred case, from scikit-learn 1.9.1.
  const { context, page } = await openPage('', { wait: null });
  try {
    const values = await page.evaluate(async () => {
      const { normalizeMatrix } = await import('/www/charts.js');
      const m = [[4, 1, 0], [2, 2, 1], [0, 3, 5]];
      return { pred: normalizeMatrix(m, 'pred'), zeroRow: normalizeMatrix([[4, 1, 0], [2, 2, 1], [0, 0, 0]], 'true') };
    });
    const sklearnPred = [
      [0.6666666666666666, 0.16666666666666666, 0],
      [0.3333333333333333, 0.3333333333333333, 0.16666666666666666],
      [0, 0.5, 0.8333333333333334],
    ];
    assert.deepEqual(values.pred, sklearnPred);
    assert.deepEqual(values.zeroRow, [[0.8, 0.2, 0], [0.4, 0.4, 0.2], [0, 0, 0]]);
  } finally {
    await context.close();
  }
});
