import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DxCode, HAM10000_CLASSES } from '../../src/core/labels.js';
import { at } from '../../src/core/util/at.js';
import { readModelBundle } from '../../src/node/bundle/read.js';
import { type Classifier, createClassifier } from '../../src/node/infer/classifier.js';
import { buildWebPage } from '../../src/node/web/build-page.js';
import { createServer } from '../../src/serve/server.js';
import { writeSmallCnnBundle } from '../support/tiny-model.js';

const CHROMIUM = '/usr/bin/chromium';
const SAMPLE = join(process.cwd(), 'data/sample/ham10000/HAM10000_images_part_1');
const SCREENSHOT_DIR = join(process.cwd(), 'tmp');
const hasChromium = await access(CHROMIUM).then(
  () => true,
  () => false,
);

/** Evaluated figures the bundle carries (as `metrics.evaluation`), shown next to each prediction. */
const FIGURES = {
  split: 'test',
  images: 52,
  views: 'plain',
  balancedAccuracy: 0.26,
  interval: { lower: 0.18, upper: 0.34, level: 0.95 },
  recall: { akiec: 0, bcc: 0.5, bkl: 0.2, df: null, mel: 0.3, nv: 0.8, vasc: 0 },
  support: { akiec: 3, bcc: 4, bkl: 6, df: 0, mel: 5, nv: 32, vasc: 2 },
};

let root: string;
let app: FastifyInstance;
let classifier: Classifier;
let browser: Browser;
let url: string;
let png: string;

beforeAll(async () => {
  if (!hasChromium) return;
  root = await mkdtemp(join(tmpdir(), 'lesionlab-web-'));
  // 112x112 model: the 200x150 sample images are under twice the box, so neither side pre-shrinks and
  // Node (sharp decode) and the page (canvas decode) feed the same pixels to the same shared bilinear resize.
  await writeSmallCnnBundle(join(root, 'bundle'), 112, {
    name: 'small-cnn-e2e',
    preprocess: { width: 112, height: 112, resize: 'crop', colorConstancy: true },
    metrics: { evaluation: FIGURES },
  });
  const jpg = at((await readdir(SAMPLE)).filter((f) => f.endsWith('.jpg')).sort(), 0);
  png = join(root, jpg.replace('.jpg', '.png'));
  await sharp(join(SAMPLE, jpg)).png().toFile(png);
  const bundle = await readModelBundle(join(root, 'bundle'));
  classifier = await createClassifier(bundle.dir, { threads: 1 });
  app = await createServer(classifier, { web: { distDir: await buildWebPage(join(root, 'dist')), bundle } });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await classifier?.dispose();
  if (root) await rm(root, { recursive: true, force: true });
});

if (!hasChromium) console.warn(`skipping the web e2e test: ${CHROMIUM} not found (apt-get install chromium)`);

describe.skipIf(!hasChromium)('web page in headless Chromium', () => {
  it('classifies an uploaded sample image in the browser like the CLI does, loading nothing off-origin', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 860 } });
    const requests: Array<{ method: string; url: string }> = [];
    page.on('request', (r) => requests.push({ method: r.method(), url: r.url() }));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    expect(await page.textContent('.disclaimer')).toContain('not a diagnosis');
    expect(await page.textContent('.privacy')).toContain('never leaves this device');
    await page.setInputFiles('#file', png);
    await page.waitForSelector('#result[data-state="done"]', { timeout: 60_000 });
    const inPage = JSON.parse((await page.getAttribute('#result', 'data-probabilities'))!) as number[];

    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, [
      'bin/lesionlab.js',
      'predict',
      join(root, 'bundle'),
      png,
      '--format',
      'jsonl',
    ]);
    const cli = JSON.parse(stdout.trim()).probabilities as Record<DxCode, number>;
    const maxDiff = Math.max(...HAM10000_CLASSES.map((c, i) => Math.abs(cli[c] - at(inPage, i))));
    expect(maxDiff).toBeLessThan(1e-3);
    expect(Math.max(...inPage)).toBeLessThan(0.99); // not saturated: a real comparison
    expect(inPage.filter((p) => p > 0.01).length).toBeGreaterThanOrEqual(2);

    expect(errors).toEqual([]);
    expect(requests.every((r) => r.url.startsWith(url))).toBe(true);
    expect(requests.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(await page.locator('.bar-row').count()).toBe(7);

    // The original JPEG: Chromium's and libvips' JPEG decoders may differ by a level here and there,
    // so this path is only reported, not held to 1e-3.
    const jpg = join(SAMPLE, at((await readdir(SAMPLE)).filter((f) => f.endsWith('.jpg')).sort(), 0));
    await page.setInputFiles('#file', jpg);
    await page.waitForSelector('#result[data-runs="2"]');
    const jpgPage = JSON.parse((await page.getAttribute('#result', 'data-probabilities'))!) as number[];
    const jpgCli = at(await classifier.classifyFiles([jpg]), 0);
    const jpgDiff =
      'probabilities' in jpgCli
        ? Math.max(...jpgPage.map((p, i) => Math.abs(p - at(jpgCli.probabilities, i))))
        : NaN;
    console.log(`web e2e: JPEG (browser vs sharp decoder) max |page - node| = ${jpgDiff.toExponential(2)}`);

    const junk = join(root, 'junk.png');
    await writeFile(junk, 'this is not an image');
    await page.setInputFiles('#file', junk);
    await page.waitForFunction(() =>
      document.querySelector('#status')?.textContent?.includes('Could not analyse'),
    );
    console.log(`web e2e: max |page - CLI| = ${maxDiff.toExponential(2)}`);
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'web-e2e.png'), fullPage: true });
    await page.close();
  });

  it('works on a phone (390x844): results near the top, full-width bars, heatmap beside the image, figures', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(`${url}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    await page.setInputFiles('#file', png);
    await page.waitForSelector('#result[data-state="done"]', { timeout: 60_000 });

    const layout = await page.evaluate(() => {
      const box = (el: Element) => {
        const r = el.getBoundingClientRect();
        return { top: r.top + window.scrollY, left: r.left, width: r.width, height: r.height };
      };
      const q = (sel: string) => document.querySelector(sel)!;
      return {
        scrollWidth: document.documentElement.scrollWidth,
        result: box(q('#result')),
        chart: box(q('.chart-box')),
        firstBar: box(q('.bar-row')),
        tracks: [...document.querySelectorAll('.bar-track')].map((el) => box(el).width),
        topFill: box(q('.bar-row.top .bar-fill')).width,
        input: box(q('#input-canvas')),
        overlay: box(q('#overlay-base')),
        cam: box(q('#cam-canvas')),
      };
    });
    expect(layout.scrollWidth).toBeLessThanOrEqual(390); // nothing wider than the phone
    expect(layout.result.top).toBeLessThan(450); // results start in the first screen, not 600 px down
    expect(layout.firstBar.top).toBeLessThan(844 - 60);
    expect(Math.min(...layout.tracks)).toBeGreaterThan(250); // bars use the width (they were 1 px)
    expect(layout.topFill).toBeGreaterThan(10);
    // the original (model input) and the heatmap over it, side by side, same size
    expect(layout.input.width).toBeGreaterThan(140);
    expect(layout.overlay.width).toBeCloseTo(layout.input.width, 0);
    expect(layout.overlay.top).toBeCloseTo(layout.input.top, 0);
    expect(layout.overlay.left).toBeGreaterThan(layout.input.left + layout.input.width);
    expect(layout.cam).toEqual(layout.overlay);

    // the model's own figures next to the prediction
    expect(await page.textContent('#figures')).toBe(
      "This model's own figures: balanced accuracy 26% (95% CI 18–34%) on 52 test images, plain.",
    );
    expect(await page.isVisible('#caution')).toBe(true);
    const recalls = await page.locator('.bar-recall').allTextContents();
    expect(recalls).toContain('recall 80% (n=32)');
    expect(recalls).toContain('recall —');

    // heatmap opacity and colour scale
    expect(await page.$eval('#cam-canvas', (c) => (c as HTMLElement).style.opacity)).toBe('0.7');
    await page.locator('#cam-opacity').fill('30');
    expect(await page.$eval('#cam-canvas', (c) => (c as HTMLElement).style.opacity)).toBe('0.3');
    expect(await page.textContent('#cam-opacity-value')).toBe('30%');
    expect(await page.$eval('#cam-scale', (el) => (el as HTMLElement).style.background)).toContain(
      'linear-gradient',
    );

    expect(consoleErrors).toEqual([]); // no favicon 404 or anything else
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    const shot = join(SCREENSHOT_DIR, 'web-e2e-phone.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`web e2e: phone screenshot ${shot}`);
    await page.close();
  });
});
