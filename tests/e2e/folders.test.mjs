// Folders as data on the page: the directory picker (data-testid="data-folder") and a
// dropped folder give the data set and the report the CLI gives on the same folder
// (`eval --data target/e2e/tiny-folder`, the files of tests/fixtures/data/tiny.zip) and on
// the zip itself; split folders (train/ test/) load as they do from a zip.
//
// Needs: pkg/ (make build) and target/e2e/tiny-folder{,-report.json}, tiny-report.json
// (make e2e-reports).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEMO_MODEL,
  REPORTS_DIR,
  RUN_TIMEOUT,
  TEST_TIMEOUT,
  TINY_DATA,
  assertMatchesReport,
  openPage,
  readReport,
  useBrowser,
  waitForState,
} from './helpers.mjs';

useBrowser();

const TINY_FOLDER = path.join(REPORTS_DIR, 'tiny-folder');

/** Every file under `dir` as [relative path, bytes]. */
function walk(dir, prefix = '') {
  return readdirSync(path.join(dir, prefix))
    .sort()
    .flatMap((name) => {
      const rel = prefix ? `${prefix}/${name}` : name;
      return statSync(path.join(dir, rel)).isDirectory() ? walk(dir, rel) : [[rel, readFileSync(path.join(dir, rel))]];
    });
}

/** Same test items and predicted labels; confidences to 1e-6 (wasm and native fits differ in the last bits). */
function samePredictions(got, want) {
  for (const key of ['test_index', 'y_true', 'y_pred']) assert.deepEqual(got.predictions[key], want.predictions[key], key);
  got.predictions.confidence.forEach((c, i) => assert.ok(Math.abs(c - want.predictions.confidence[i]) <= 1e-6, `confidence ${i}: ${c}`));
}

async function waitForData(page) {
  await page.waitForFunction(() => /^Data .* loaded: /.test(document.getElementById('status').textContent), null, { timeout: RUN_TIMEOUT });
  return page.evaluate(() => document.getElementById('status').textContent);
}

/** Runs with seed 0 and returns the downloaded report. */
async function run(page) {
  await page.getByTestId('seed').fill('0');
  await page.getByTestId('run').click({ timeout: RUN_TIMEOUT });
  await waitForState(page, ['results']);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
  return JSON.parse(readFileSync(await download.path(), 'utf8'));
}

/** The loaded classes and their counts, as the data panel shows them. */
function shownCounts(page) {
  return page.$$eval('#data-info tbody tr', (trs) => trs.map((tr) => [tr.querySelector('th').textContent, tr.querySelector('td').textContent]));
}

/**
 * Drops `files` ([path, base64]) as one folder named `name`. Playwright cannot drop real
 * directories, so the drop event carries FileSystemEntry look-alikes made of real Files,
 * whose readers hand out entries 2 at a time (Chromium hands out 100), as the page must
 * call readEntries until it returns none.
 */
function dropFolder(page, name, files) {
  return page.evaluate(
    ({ name, files }) => {
      const dir = (dirName) => ({ isFile: false, isDirectory: true, name: dirName, children: new Map() });
      const root = dir(name);
      for (const [rel, b64] of files) {
        const parts = rel.split('/');
        let node = root;
        for (const part of parts.slice(0, -1)) {
          if (!node.children.has(part)) node.children.set(part, dir(part));
          node = node.children.get(part);
        }
        const leaf = parts[parts.length - 1];
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const file = new File([bytes], leaf);
        node.children.set(leaf, { isFile: true, isDirectory: false, name: leaf, file: (ok) => setTimeout(() => ok(file)) });
      }
      const withReaders = (node) => {
        if (node.isDirectory) {
          const kids = [...node.children.values()].map(withReaders);
          node.createReader = () => {
            let at = 0;
            return { readEntries: (ok) => setTimeout(() => ok(kids.slice(at, (at += 2)))) };
          };
        }
        return node;
      };
      withReaders(root);
      const event = new Event('drop', { bubbles: true, cancelable: true });
      Object.defineProperty(event, 'dataTransfer', { value: { items: [{ webkitGetAsEntry: () => root }], files: [] } });
      document.dispatchEvent(event);
    },
    { name, files: files.map(([rel, bytes]) => [rel, Buffer.from(bytes).toString('base64')]) },
  );
}

describe('folders on the page', () => {
  test('a picked folder and a dropped folder give the CLI report on that folder and on the zip', { timeout: TEST_TIMEOUT }, async () => {
    const folderReport = readReport('tiny-folder-report.json');
    const zipReport = readReport('tiny-report.json');
    assert.deepEqual(folderReport.metrics, zipReport.metrics, 'the CLI scores the folder as the zip');
    const { context, page, problems } = await openPage('?test-hooks=1&cache=0');
    try {
      await page.getByTestId('model-input').setInputFiles(DEMO_MODEL);
      await page.getByTestId('data-folder').setInputFiles(TINY_FOLDER);
      assert.equal(await waitForData(page), 'Data tiny-folder loaded: 36 images in 3 classes.');
      assert.deepEqual(await shownCounts(page), [['cat', '12'], ['dog', '12'], ['fish', '12']]);
      const picked = await run(page);
      await assertMatchesReport(page, folderReport);
      // The folder's SHA-256 is the CLI's for the same folder, so reports match across tools.
      assert.equal(picked.data.sha256, folderReport.data.sha256);
      assert.deepEqual(picked.data.counts, folderReport.data.counts);
      samePredictions(picked, folderReport);

      await dropFolder(page, 'tiny-dropped', walk(TINY_FOLDER));
      assert.equal(await waitForData(page), 'Data tiny-dropped loaded: 36 images in 3 classes.');
      const dropped = await run(page);
      await assertMatchesReport(page, zipReport);
      assert.equal(dropped.data.sha256, folderReport.data.sha256);
      samePredictions(dropped, zipReport);
      assert.deepEqual(dropped.predictions, picked.predictions, 'the same bytes give the same page report');

      // A restarted session worker gets the folder again from the engine's copy: the
      // gallery's items and a new run are as before.
      const items = await page.evaluate(async () => {
        const { engine } = window.__downstream;
        await engine.restart();
        const got = await engine.items([0, 35]);
        return got.map((it) => [it.path, [...new Uint8Array(it.bytes)]]);
      });
      const files = new Map(walk(TINY_FOLDER));
      assert.deepEqual(items, [
        ['cat/000.png', [...files.get('cat/000.png')]],
        ['fish/011.png', [...files.get('fish/011.png')]],
      ]);
      const afterRestart = await run(page);
      assert.deepEqual(afterRestart.predictions, dropped.predictions);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('train/ and test/ folders and skipped files load as from the zip of the same folder', { timeout: TEST_TIMEOUT }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'downstream-split-'));
    execFileSync('unzip', ['-q', TINY_DATA, '-d', path.join(dir, 'train')]);
    execFileSync('unzip', ['-q', TINY_DATA, 'cat/00[0-3].png', 'dog/00[0-3].png', 'fish/00[0-3].png', '-d', path.join(dir, 'test')]);
    const zipFile = `${dir}.zip`;
    execFileSync('sh', ['-c', `echo notes > notes.txt && zip -qr '${zipFile}' train test notes.txt`], { cwd: dir });
    const { context, page, problems } = await openPage();
    try {
      await page.getByTestId('model-input').setInputFiles(DEMO_MODEL);
      await page.getByTestId('data-input').setInputFiles(zipFile);
      await waitForData(page);
      const fromZip = await run(page);
      await page.getByTestId('data-folder').setInputFiles(dir);
      assert.match(await waitForData(page), /^Data downstream-split-\w+ loaded: 48 images in 3 classes\.$/);
      assert.deepEqual(await shownCounts(page), [['cat', '16'], ['dog', '16'], ['fish', '16']]);
      const fromFolder = await run(page);
      assert.equal(fromFolder.protocol.split_source, 'folders train/ val/ test/');
      assert.equal(fromFolder.protocol.n_test, 12);
      for (const key of ['protocol', 'metrics', 'predictions']) assert.deepEqual(fromFolder[key], fromZip[key], key);
      assert.deepEqual(fromFolder.data.skipped, [{ path: 'notes.txt', reason: 'not an image file (expected .png, .jpg, .jpeg, .webp, .bmp or .gif)' }]);
      assert.deepEqual(fromFolder.data.skipped, fromZip.data.skipped);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
