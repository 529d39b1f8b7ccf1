// Browser tests of the page's polish: phone width, dark mode, the inline explanation of every
// metric shown, and keyboard-only operation (load the demo, run, open a matrix cell's gallery).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, RUN_TIMEOUT, TEST_TIMEOUT, browser, readReport, server, useBrowser, waitForState } from './helpers.mjs';

useBrowser();

/** A page in its own context (viewport, colour scheme), collecting page and console errors. */
async function open(suffix = '', options = {}) {
  const context = await browser.newContext({ acceptDownloads: true, ...options });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  await page.goto(server.url + suffix);
  await waitForState(page, ['ready'], 60_000);
  return { context, page, problems };
}

async function runDemo(page) {
  await page.getByTestId('run-demo').click();
  await waitForState(page, ['results']);
  await page.locator('[data-testid="embedding-scatter"] circle.point').first().waitFor({ timeout: RUN_TIMEOUT });
}

/**
 * WCAG contrast of every visible SVG text in the results against what is behind it: its
 * matrix cell's colour, else the card background. Returns [{text, ratio, fg, bg}].
 */
async function chartTextContrast(page) {
  return page.evaluate(() => {
    const rgb = (s) => {
      const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)/.exec(s);
      return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
    };
    const lum = ([r, g, b]) => {
      const c = (v) => {
        const x = v / 255;
        return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * c(r) + 0.7152 * c(g) + 0.0722 * c(b);
    };
    const ratio = (a, b) => {
      const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
      return (hi + 0.05) / (lo + 0.05);
    };
    const card = rgb(getComputedStyle(document.getElementById('results')).backgroundColor);
    const out = [];
    for (const t of document.querySelectorAll('#results svg text')) {
      const box = t.getBoundingClientRect();
      if (box.width === 0 || !t.textContent.trim()) continue;
      const rect = t.closest('.cell')?.querySelector('rect');
      const bg = rect ? rgb(getComputedStyle(rect).fill) : card;
      const fg = rgb(getComputedStyle(t).fill);
      out.push({ text: t.textContent, chart: t.closest('svg').getAttribute('class'), fg, bg, ratio: fg && bg ? ratio(fg, bg) : 0 });
    }
    return out;
  });
}

describe('phone width', () => {
  test('at 375 px the page does not scroll sideways after a run; only the chart scrollers may', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page, problems } = await open('', { viewport: { width: 375, height: 800 } });
    try {
      assert.ok(await page.evaluate(() => document.scrollingElement.scrollWidth) <= 375, 'no sideways scroll before a run');
      await runDemo(page);
      await page.getByTestId('share-link').click();
      await page.waitForFunction(() => document.querySelector('[data-testid="share-url"]').value.length > 0);
      await page.locator('[data-testid="confusion-matrix"] .cell[data-row="1"][data-col="1"]').click();
      await page.getByTestId('sample-gallery').waitFor({ state: 'visible' });
      await page.getByTestId('metric-help').locator('summary').click();
      const width = await page.evaluate(() => document.scrollingElement.scrollWidth);
      assert.ok(width <= 375, `the page is ${width} px wide at a 375 px viewport`);
      // Whatever is wider than the screen sits inside a scroller.
      const loose = await page.evaluate(() => {
        const w = document.documentElement.clientWidth;
        return [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > w + 0.5)
          .filter((e) => {
            for (let p = e.parentElement; p; p = p.parentElement) if (/(auto|scroll|hidden)/.test(getComputedStyle(p).overflowX)) return false;
            return true;
          })
          .map((e) => `${e.tagName.toLowerCase()}#${e.id}`);
      });
      assert.deepEqual(loose, []);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

describe('dark mode', () => {
  for (const colorScheme of ['light', 'dark']) {
    test(`${colorScheme}: every chart text in the results is readable (contrast at least 3:1 against what is behind it) and every dot of the map stands out`, { timeout: TEST_TIMEOUT }, async () => {
      const { context, page, problems } = await open('', { colorScheme });
      try {
        await runDemo(page);
        const bg = await page.evaluate(() => getComputedStyle(document.getElementById('results')).backgroundColor);
        assert.equal(bg, colorScheme === 'dark' ? 'rgb(27, 31, 36)' : 'rgb(255, 255, 255)', 'the colour scheme is applied');
        const texts = await chartTextContrast(page);
        const charts = new Set(texts.map((t) => t.chart.split(' ').pop()));
        for (const c of ['confusion-matrix', 'per-class-bars', 'pr-curves', 'roc-curves', 'calibration', 'loss-curve', 'embedding-scatter']) {
          assert.ok(charts.has(c), `${c} has text to check`);
        }
        const poor = texts.filter((t) => !(t.ratio >= 3));
        assert.deepEqual(poor.slice(0, 5), [], `${poor.length} of ${texts.length} chart texts are hard to read`);
        // Every dot of the map stands out from the card: by its colour or by its outline.
        const faint = await page.evaluate(() => {
          const rgba = (s) => {
            const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?/.exec(s);
            return m ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])] : null;
          };
          const lum = (c) => {
            const f = (v) => ((v / 255) <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
            return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
          };
          const ratio = (a, b) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
          const card = rgba(getComputedStyle(document.getElementById('results')).backgroundColor);
          const over = (c) => [0, 1, 2].map((k) => c[k] * c[3] + card[k] * (1 - c[3]));
          return [...document.querySelectorAll('[data-testid="embedding-scatter"] circle')].filter((dot) => {
            const cs = getComputedStyle(dot);
            const fill = rgba(cs.fill);
            const stroke = rgba(cs.stroke);
            const byFill = fill && ratio(over(fill), card) >= 2;
            const byStroke = stroke && parseFloat(cs.strokeWidth) >= 0.5 && ratio(over(stroke), card) >= 2;
            return !(byFill || byStroke);
          }).length;
        });
        assert.equal(faint, 0, `${faint} dots of the map blend into the background`);
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });
  }

  test('the HTML report follows the reader’s colour scheme: chart text in the body colour', { timeout: TEST_TIMEOUT }, async () => {
    const { context, page } = await open('', { colorScheme: 'dark' });
    try {
      await runDemo(page);
      const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-html').click()]);
      const html = readFileSync(await dl.path(), 'utf8');
      const view = await browser.newContext({ javaScriptEnabled: false, offline: true, colorScheme: 'dark' });
      try {
        const p = await view.newPage();
        await p.setContent(html);
        const { body, fills } = await p.evaluate(() => ({
          body: getComputedStyle(document.body).color,
          fills: [...document.querySelectorAll('svg .axis-label, svg .axis-title, svg text.support:not(.low-support)')].map((t) => getComputedStyle(t).fill),
        }));
        assert.equal(body, 'rgb(230, 233, 237)');
        assert.ok(fills.length > 50);
        assert.deepEqual([...new Set(fills)], [body]);
      } finally {
        await view.close();
      }
    } finally {
      await context.close();
    }
  });
});

describe('metric explanations', () => {
  test('every metric shown has a short explanation on its tile and a longer one in the help panel, on the page and in the HTML report', { timeout: TEST_TIMEOUT }, async () => {
    const report = readReport('demo-report.json');
    const { context, page, problems } = await open();
    try {
      await page.getByTestId('report-input').setInputFiles({ name: 'demo.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(report)) });
      await waitForState(page, ['results']);
      const tiles = await page.$$eval('#metrics .metric', (els) =>
        els.map((e) => ({ key: e.querySelector('.metric-value').dataset.testid.slice('metric-'.length), label: e.querySelector('.metric-label').textContent, title: e.title })),
      );
      // Every numeric top-level metric of the report has a tile.
      const numeric = Object.entries(report.metrics).filter(([, v]) => typeof v === 'number').map(([k]) => k.replaceAll('_', '-'));
      assert.deepEqual(numeric.filter((k) => !tiles.some((t) => t.key === k)), []);
      for (const k of ['average-precision', 'ece', 'top-5-accuracy']) assert.ok(tiles.some((t) => t.key === k), `${k} is shown`);
      const help = page.getByTestId('metric-help');
      await help.locator('summary').click();
      const terms = await help.locator('dt').allTextContents();
      for (const t of tiles) {
        assert.ok(t.title.length > 20 && !/see the report JSON/.test(t.title), `${t.label}: tile explanation “${t.title}”`);
        assert.ok(terms.includes(t.label), `${t.label} is explained in the help panel`);
        const dd = await help.locator(`dt[data-metric="${t.key.replaceAll('-', '_')}"] + dd`).textContent();
        assert.ok(dd.length > 40, `${t.label}: “${dd}”`);
      }
      // The per-class table's columns and the run's baselines explain themselves too.
      const heads = await page.$$eval('[data-testid="per-class-table"] thead th.num', (ths) => ths.map((th) => th.title));
      assert.equal(heads.length, 4);
      assert.ok(heads.every((t) => t.length > 10));
      assert.ok(terms.includes('Support') && terms.includes('CI') && terms.includes('Baselines'));

      const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-html').click()]);
      const html = readFileSync(await dl.path(), 'utf8');
      for (const t of tiles) {
        assert.ok(html.includes(`data-metric="${t.key.replaceAll('-', '_')}"`), `${t.label} tile in the HTML report`);
        assert.ok(html.includes(`<dt>${t.label.replace("'", '&#39;')}</dt>`), `${t.label} explained in the HTML report`);
      }
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

describe('keyboard only', () => {
  test('Tab reaches every control; load and run the demo, open a matrix cell’s gallery with Space, close it with Enter; the map’s dots by arrows and Enter', { timeout: TEST_TIMEOUT }, async () => {
    const report = readReport('demo-report.json');
    const { context, page, problems } = await open();
    try {
      /** Presses Tab until the focused element matches `selector`; returns how many presses. */
      const tabTo = async (selector, limit = 250) => {
        for (let i = 1; i <= limit; i++) {
          await page.keyboard.press('Tab');
          if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return i;
        }
        assert.fail(`Tab never reached ${selector}`);
      };
      await tabTo('[data-testid="run-demo"]');
      await page.keyboard.press('Enter');
      await waitForState(page, ['results']);
      await page.locator('[data-testid="embedding-scatter"] circle.point').first().waitFor({ timeout: RUN_TIMEOUT });

      // Every visible, enabled control is reachable by Tab, in one pass from the top.
      await page.evaluate(() => document.activeElement?.blur());
      await page.evaluate(() => window.scrollTo(0, 0));
      const controls = await page.evaluate(() => {
        const all = [...document.querySelectorAll('button, select, input, summary, a[href], [tabindex="0"]')];
        all.forEach((e, i) => e.setAttribute('data-kb', String(i)));
        return all
          .filter((e) => !e.disabled && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden')
          .map((e) => e.dataset.kb);
      });
      const reached = new Set();
      for (let i = 0; i < 400 && reached.size < controls.length; i++) {
        await page.keyboard.press('Tab');
        const kb = await page.evaluate(() => document.activeElement?.dataset?.kb ?? null);
        if (kb !== null) reached.add(kb);
      }
      const missed = await page.evaluate(
        (ids) => ids.map((id) => document.querySelector(`[data-kb="${id}"]`)).map((e) => e.dataset.testid ?? e.id ?? e.tagName),
        controls.filter((id) => !reached.has(id)),
      );
      assert.deepEqual(missed, [], 'controls Tab does not reach');
      assert.ok(controls.length > 25, `${controls.length} controls`);

      // From the top again to the matrix: one tab stop, arrows move, Space opens the gallery.
      await page.evaluate(() => document.activeElement?.blur());
      await tabTo('[data-testid="confusion-matrix"] .cell');
      assert.equal(await page.evaluate(() => document.activeElement.dataset.pos), '0,0');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('ArrowRight');
      const [row, col] = await page.evaluate(() => [Number(document.activeElement.dataset.row), Number(document.activeElement.dataset.col)]);
      assert.deepEqual([row, col], [2, 2]);
      await page.keyboard.press(' ');
      const gallery = page.getByTestId('sample-gallery');
      await gallery.waitFor({ state: 'visible' });
      const p = report.predictions;
      const expected = p.test_index.filter((_, k) => p.y_true[k] === row && p.y_pred[k] === col).length;
      assert.equal(await gallery.locator('[data-sample]').count(), expected);
      assert.equal(expected, Number(await page.evaluate(() => document.activeElement.dataset.count)));

      // Tab from the cell goes into the gallery; Enter on Close closes it and focus returns to the cell.
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.dataset.action), 'close-gallery');
      await page.keyboard.press('Enter');
      assert.equal(await gallery.isVisible(), false);
      assert.equal(await page.evaluate(() => document.activeElement.dataset.pos), '2,2', 'focus is back on the cell');
      // Enter opens it too, Escape closes it.
      await page.keyboard.press('Enter');
      await gallery.waitFor({ state: 'visible' });
      await page.keyboard.press('Escape');
      assert.equal(await gallery.isVisible(), false);

      // The embedding map: one tab stop, arrows go to the nearest dot that way, Enter opens its image.
      await tabTo('[data-testid="embedding-scatter"] circle.point');
      const at = () => page.evaluate(() => ({ i: document.activeElement.dataset.i, item: Number(document.activeElement.dataset.item), cx: Number(document.activeElement.getAttribute('cx')), cy: Number(document.activeElement.getAttribute('cy')) }));
      const first = await at();
      await page.keyboard.press('ArrowRight');
      const right = await at();
      assert.ok(right.cx > first.cx, `ArrowRight moved from x ${first.cx} to ${right.cx}`);
      await page.keyboard.press('ArrowUp');
      const up = await at();
      assert.ok(up.cy < right.cy, `ArrowUp moved from y ${right.cy} to ${up.cy}`);
      assert.equal(await page.locator('[data-testid="embedding-scatter"] circle.point[tabindex="0"]').count(), 1);
      await page.keyboard.press('Enter');
      await gallery.waitFor({ state: 'visible' });
      assert.deepEqual(await gallery.locator('[data-sample]').evaluateAll((els) => els.map((e) => Number(e.dataset.sample))), [up.item]);
      assert.equal(await page.evaluate(() => document.activeElement.dataset.action), 'close-gallery', 'focus goes to the gallery above the map');
      await page.keyboard.press('Enter');
      assert.equal(await gallery.isVisible(), false);
      assert.equal(await page.evaluate(() => document.activeElement.dataset.i), up.i, 'focus is back on the dot');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

describe('README', () => {
  test('the page links in the README’s results section work as written (on this test server instead of port 8000)', { timeout: TEST_TIMEOUT }, async () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.split('\n## Results on the page\n')[1]?.split('\n## ')[0];
    assert.ok(section, 'the README has a "Results on the page" section');
    const links = [...section.matchAll(/http:\/\/127\.0\.0\.1:8000(\/\S*)/g)].map((m) => m[1]);
    assert.deepEqual(links, ['/?model=assets/demo/encoder.onnx&data=assets/demo/digits.zip&preset=knn-vote&run=1']);
    const knnVote = readReport('demo-knn-vote-report.json');
    for (const link of links) {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(server.url + link.slice(1));
        await waitForState(page, ['results']);
        assert.match(await page.getByTestId('fetch-note').textContent(), /fetches the model from .*encoder\.onnx and the images from .*digits\.zip; the probe is set to k-NN vote/);
        // The CLI's `eval --probe knn-vote` on the same files (make e2e-reports).
        assert.equal(await page.getByTestId('metric-accuracy').getAttribute('data-value'), String(knnVote.metrics.accuracy));
      } finally {
        await context.close();
      }
    }
  });
});
