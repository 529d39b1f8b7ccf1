// Explicit splits on the page: the data panel shows the split's source and the images per class
// in each part (train / val / test) for tests/fixtures/splits (counts.json, written by
// tools/make_split_fixtures.py); a manifest chosen beside a folder (data-testid=manifest-file)
// gives the CLI's `eval --data FOLDER --manifest FILE` report.
//
// Needs: pkg/ (make build) and target/e2e/split-flat, split-manifest.csv and
// split-manifest-report.json (make e2e-reports).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEMO_MODEL, REPORTS_DIR, RUN_TIMEOUT, TEST_TIMEOUT, assertMatchesReport, openPage, readReport, requireFile, useBrowser, waitForState } from './helpers.mjs';

useBrowser();

const COUNTS = JSON.parse(readFileSync(requireFile('tests/fixtures/splits/counts.json', 'a committed fixture'), 'utf8'));

/** The data panel's split table as {part: {class: count}}. */
async function splitTable(page) {
  const parts = await page.$$eval('[data-testid="split-counts"] thead th', (ths) => ths.slice(1).map((th) => th.textContent));
  const rows = await page.$$eval('[data-testid="split-counts"] tr[data-class]', (trs) =>
    trs.map((tr) => [tr.querySelector('th').textContent, [...tr.querySelectorAll('td')].map((td) => td.textContent)]),
  );
  const out = {};
  parts.forEach((p, j) => {
    out[p] = Object.fromEntries(rows.map(([c, cells]) => [c, Number(cells[j])]));
  });
  return out;
}

const waitStatus = (page, re) => page.waitForFunction((s) => new RegExp(s).test(document.getElementById('status').textContent), re.source, { timeout: RUN_TIMEOUT });

describe('explicit splits on the page', () => {
  test('train/ val/ test/ folders and a manifest inside show their counts per part and source', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page, problems } = await openPage();
    try {
      for (const [file, source] of [['folders.zip', 'folders train/ val/ test/'], ['manifest.zip', "manifest 'manifest.csv'"]]) {
        await page.getByTestId('data-input').setInputFiles(requireFile(`tests/fixtures/splits/${file}`, 'a committed fixture'));
        await waitStatus(page, new RegExp(`^Data ${file.replace('.', '\\.')} loaded`));
        assert.equal(await page.getByTestId('split-source').textContent(), `given: ${source}`, file);
        assert.deepEqual(await splitTable(page), COUNTS, file);
      }
      // Without a split there is no split table.
      await page.getByTestId('data-input').setInputFiles(requireFile('tests/fixtures/data/tiny.zip', 'a committed fixture'));
      await waitStatus(page, /^Data tiny\.zip loaded/);
      assert.equal(await page.getByTestId('split-counts').count(), 0);
      assert.equal(await page.getByTestId('split-source').count(), 0);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('a manifest beside a folder gives its counts and the CLI eval --manifest report', { timeout: 2 * TEST_TIMEOUT }, async () => {
    const report = readReport('split-manifest-report.json');
    const folder = path.join(REPORTS_DIR, 'split-flat');
    const manifest = path.join(REPORTS_DIR, 'split-manifest.csv');
    const { context, page, problems } = await openPage();
    try {
      await page.getByTestId('model-input').setInputFiles(DEMO_MODEL);
      await waitStatus(page, /^Model encoder\.onnx loaded/);
      // The manifest first: kept for the folder chosen next.
      await page.getByTestId('manifest-file').setInputFiles(manifest);
      await waitStatus(page, /^Manifest split-manifest\.csv kept/);
      await page.getByTestId('data-folder').setInputFiles(folder);
      await waitStatus(page, /^Data split-flat loaded/);
      assert.deepEqual(await splitTable(page), COUNTS);
      assert.equal(await page.getByTestId('split-source').textContent(), `given: ${report.data.split_source}`);
      const skipped = await page.$$eval('#data-info .skipped li', (lis) => lis.map((li) => li.textContent));
      assert.deepEqual(skipped, report.data.skipped.map((s) => `${s.path} — ${s.reason}`));

      await page.getByTestId('seed').fill('0');
      await page.getByTestId('run').click();
      await waitForState(page, ['results']);
      await assertMatchesReport(page, report);
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
      const got = JSON.parse(readFileSync(await download.path(), 'utf8'));
      for (const key of ['test_index', 'y_true', 'y_pred']) assert.deepEqual(got.predictions[key], report.predictions[key], key);
      // Embeddings from tract in wasm and natively differ in the last float bits only.
      got.predictions.confidence.forEach((c, i) => assert.ok(Math.abs(c - report.predictions.confidence[i]) <= 1e-4, `confidence ${i}: ${c}`));
      for (const key of ['sha256', 'n', 'classes', 'counts', 'skipped', 'split_source', 'split_counts']) assert.deepEqual(got.data[key], report.data[key], `data.${key}`);
      assert.equal(got.protocol.split_source, report.protocol.split_source);

      // A manifest chosen after the data reads it again: a bad one is refused and the data stay.
      await page.getByTestId('manifest-file').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from('path,label\na.png,x\n') });
      await waitForState(page, ['error']);
      assert.match(await page.getByTestId('error-message').textContent(), /'bad\.csv': the header \(path,label\) has no 'split' column/);
      assert.deepEqual(await splitTable(page), COUNTS);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
