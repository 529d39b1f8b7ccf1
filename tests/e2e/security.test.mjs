// Privacy and safety of the page: no request leaves its origin, a strict CSP without inline
// scripts, names from data / reports / share links rendered as text, cancel at any moment,
// and malformed share links.
//
// Needs what helpers.mjs needs (pkg/, make e2e-reports). Run:
//   make e2e-reports && node --test tests/e2e/security.test.mjs

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deflateRawSync, deflateSync } from 'node:zlib';
import {
  DEMO_MODEL,
  RUN_TIMEOUT,
  TEST_TIMEOUT,
  TINY_DATA,
  bodyClass,
  browser,
  errorText,
  openPage,
  readReport,
  server,
  useBrowser,
  waitForState,
} from './helpers.mjs';

useBrowser();

/** Names that run script if they ever reach innerHTML (no '/': it would split a zip path). */
const EVIL = [
  '<img src=x onerror=alert(1)>',
  '"><svg onload=alert(2)>',
  "'><iframe srcdoc=x onload=alert(3)>",
  '"><script>alert(4)<',
  '&lt;b&gt;entity&amp;',
];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A stored (uncompressed) zip of [name, bytes] entries, names as UTF-8. */
function makeZip(entries) {
  const parts = [];
  const central = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(0x800, 8);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(data.length, 20);
    dir.writeUInt32LE(data.length, 24);
    dir.writeUInt16LE(n.length, 28);
    dir.writeUInt32LE(offset, 42);
    parts.push(local, n, data);
    central.push(dir, n);
    offset += local.length + n.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

/** A 28x28 grayscale PNG filled by f(x, y) -> 0..255. */
function makePng(f) {
  const chunk = (type, body) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    const tb = Buffer.concat([Buffer.from(type, 'latin1'), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(tb));
    return Buffer.concat([len, tb, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(28, 0);
  ihdr.writeUInt32BE(28, 4);
  ihdr[8] = 8;
  const raw = Buffer.alloc(28 * 29);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) raw[y * 29 + 1 + x] = f(x, y) & 0xff;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function tempFile(name, bytes) {
  const dir = mkdtempSync(path.join(tmpdir(), 'downstream-security-'));
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

/** Zip with one class folder per EVIL name, image files with EVIL names too. */
function evilZip() {
  const entries = [];
  EVIL.forEach((cls, c) => {
    for (let i = 0; i < 6; i++) {
      const name = i === 0 ? `${EVIL[(c + 1) % EVIL.length]}.png` : `${i}.png`;
      entries.push([`${cls}/${name}`, makePng((x, y) => (c * 60 + ((x * (c + 1) + y * i) % 40)) % 256)]);
    }
  });
  return makeZip(entries);
}

/** tiny-report.json with its class labels, model and data names replaced by EVIL names. */
function evilReportText() {
  let text = JSON.stringify(readReport('tiny-report.json'));
  ['cat', 'dog', 'fish'].forEach((label, i) => {
    text = text.replaceAll(JSON.stringify(label), JSON.stringify(EVIL[i]));
  });
  const report = JSON.parse(text);
  report.model.name = EVIL[4];
  report.data.name = EVIL[0];
  return JSON.stringify(report);
}

/** Watches a page for dialogs; returns the list they are recorded in. */
function watchDialogs(page) {
  const dialogs = [];
  page.on('dialog', async (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  return dialogs;
}

/** No dialog, no injected element, every EVIL label present as text. */
async function assertRenderedAsText(page, dialogs, labels) {
  await page.waitForTimeout(300);
  assert.deepEqual(dialogs, [], 'a dialog fired');
  assert.equal(await page.locator('img[src="x"]').count(), 0, 'an <img src=x> was injected');
  assert.equal(await page.locator('iframe, svg[onload]').count(), 0, 'an iframe or svg[onload] was injected');
  const injected = await page.evaluate(() =>
    [...document.querySelectorAll('*')].flatMap((el) =>
      [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${el.tagName}[${a.name}]`),
    ),
  );
  assert.deepEqual(injected, [], 'event-handler attributes in the DOM');
  assert.equal(await page.evaluate(() => document.scripts.length), 1, 'only the page module script');
  const text = await page.evaluate(() => document.body.textContent);
  for (const label of labels) assert.ok(text.includes(label), `"${label}" is not shown as text`);
  const rows = await page.$$eval('[data-testid="per-class-table"] tbody tr', (trs) => trs.map((tr) => tr.dataset.class));
  assert.deepEqual([...rows].sort(), [...labels].sort());
}

describe('Downstream page security', () => {
  test('a full evaluation of an uploaded model and zip makes no request outside the origin', { timeout: TEST_TIMEOUT }, async () => {
    const context = await browser.newContext();
    const origin = new URL(server.url).origin;
    const seen = [];
    await context.route('**/*', (route) => {
      seen.push(route.request().url());
      return route.continue();
    });
    context.on('request', (req) => seen.push(req.url()));
    try {
      const page = await context.newPage();
      await page.goto(server.url);
      await waitForState(page, ['ready'], 60_000);
      await page.getByTestId('model-input').setInputFiles(DEMO_MODEL);
      await page.getByTestId('data-input').setInputFiles(TINY_DATA);
      await page.getByTestId('run').click({ timeout: RUN_TIMEOUT });
      await waitForState(page, ['results']);
      await page.locator('[data-testid="confusion-matrix"] [data-row][data-col]').first().click();
      await page.waitForTimeout(500);
      assert.ok(seen.length > 0, 'no request was recorded');
      const outside = seen.filter((u) => !u.startsWith('blob:') && !u.startsWith('data:') && new URL(u).origin !== origin);
      assert.deepEqual(outside, [], 'requests outside the page origin');
    } finally {
      await context.close();
    }
  });

  test('the page is served with a CSP forbidding other origins and has no inline script', { timeout: TEST_TIMEOUT }, async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const response = await page.goto(server.url);
      const csp = response.headers()['content-security-policy'] ?? '';
      const directives = Object.fromEntries(
        csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([k, ...v]) => [k, v]),
      );
      for (const name of ['default-src', 'script-src', 'connect-src']) {
        assert.ok(directives[name], `CSP has no ${name}: ${csp}`);
        const allowed = directives[name].filter((v) => !["'self'", "'wasm-unsafe-eval'", "'none'"].includes(v));
        assert.deepEqual(allowed, [], `${name} allows more than the page's origin: ${csp}`);
      }
      assert.deepEqual(directives['object-src'], ["'none'"]);
      const html = await response.text();
      assert.deepEqual(html.match(/<script\b(?![^>]*\bsrc=)[^>]*>/gi) ?? [], [], 'inline <script> in the HTML');
      assert.deepEqual(html.match(/\son[a-z]+\s*=/gi) ?? [], [], 'inline event handlers in the HTML');
      await waitForState(page, ['ready'], 60_000);
      const inline = await page.evaluate(() => [...document.scripts].filter((s) => !s.src).length);
      assert.equal(inline, 0, 'inline scripts in the DOM');
      const blocked = await page.evaluate(async () => {
        try {
          await fetch('https://example.com/', { mode: 'no-cors' });
          return 'fetched';
        } catch {
          return 'blocked';
        }
      });
      assert.equal(blocked, 'blocked', 'connect-src lets the page fetch another origin');
    } finally {
      await context.close();
    }
  });

  test('class folders and file names with HTML are shown as text, and nothing runs', { timeout: TEST_TIMEOUT }, async () => {
    const zip = tempFile('evil.zip', evilZip());
    const { context, page, problems } = await openPage();
    const dialogs = watchDialogs(page);
    try {
      await page.getByTestId('model-input').setInputFiles(DEMO_MODEL);
      await page.getByTestId('data-input').setInputFiles(zip);
      await page.getByTestId('run').click({ timeout: RUN_TIMEOUT });
      await waitForState(page, ['results']);
      await assertRenderedAsText(page, dialogs, EVIL);
      // The gallery shows file names (some of them EVIL) of a cell's test images.
      await page.locator('[data-testid="confusion-matrix"] [data-row][data-col]').first().click();
      await assertRenderedAsText(page, dialogs, EVIL);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('a report file with HTML labels is shown as text', { timeout: TEST_TIMEOUT }, async () => {
    const file = tempFile('evil-report.json', evilReportText());
    const { context, page, problems } = await openPage();
    const dialogs = watchDialogs(page);
    try {
      await page.getByTestId('report-input').setInputFiles(file);
      await waitForState(page, ['results']);
      await assertRenderedAsText(page, dialogs, EVIL.slice(0, 3));
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('a share link with HTML labels is shown as text', { timeout: TEST_TIMEOUT }, async () => {
    const packed = deflateRawSync(Buffer.from(evilReportText(), 'utf8')).toString('base64url');
    const { context, page, problems } = await openPage(`#report=${packed}`, { wait: ['results'] });
    const dialogs = watchDialogs(page);
    try {
      await assertRenderedAsText(page, dialogs, EVIL.slice(0, 3));
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('cancel at a random moment leaves a page that runs the demo again', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page, problems } = await openPage();
    try {
      for (let round = 0; round < 2; round++) {
        const delay = Math.floor(Math.random() * 800);
        await page.getByTestId('run-demo').click();
        await page.waitForTimeout(delay);
        await page.evaluate(() => document.querySelector('[data-testid="cancel"]').click());
        await page.waitForFunction(() => document.body.className !== 'running', null, { timeout: RUN_TIMEOUT });
        const after = await bodyClass(page);
        assert.ok(['ready', 'results', 'error'].includes(after), `after cancel at ${delay} ms: ${after}`);
        if (after === 'error') {
          assert.match(await errorText(page), /cancel/i, `after cancel at ${delay} ms the error is not about cancelling`);
        }
        await page.getByTestId('run-demo').click();
        await waitForState(page, ['results']);
      }
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('a malformed share link shows a message and the page still works', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await openPage('#report=garbage', { wait: ['error'] });
    try {
      assert.equal(await bodyClass(page), 'error');
      assert.ok((await errorText(page)).trim().length > 0, 'no message for a malformed share link');
      await page.getByTestId('run-demo').click();
      await waitForState(page, ['results']);
    } finally {
      await context.close();
    }
  });
});
