import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DxCode, HAM10000_CLASSES } from '../../src/core/labels.js';
import { HAM10000_SITES, OFFSET_WIDTH } from '../../src/core/train/metadata.js';
import { at } from '../../src/core/util/at.js';
import { readModelBundle } from '../../src/node/bundle/read.js';
import { type Classifier, createClassifier } from '../../src/node/infer/classifier.js';
import { decodeImage } from '../../src/node/preprocess/decode-image.js';
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
/** A second sample image (page tests that need two images with different results). */
let png2: string;
/** A bundle with a metadata branch (age, sex, site as logit offsets), served at metaUrl. */
let metaApp: FastifyInstance;
let metaClassifier: Classifier;
let metaUrl: string;

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
  const jpgs = (await readdir(SAMPLE)).filter((f) => f.endsWith('.jpg')).sort();
  const jpg = at(jpgs, 0);
  png = join(root, jpg.replace('.jpg', '.png'));
  await sharp(join(SAMPLE, jpg)).png().toFile(png);
  png2 = join(root, at(jpgs, 1).replace('.jpg', '.png'));
  await sharp(join(SAMPLE, at(jpgs, 1)))
    .png()
    .toFile(png2);
  const bundle = await readModelBundle(join(root, 'bundle'));
  classifier = await createClassifier(bundle.dir, { threads: 1 });
  const distDir = await buildWebPage(join(root, 'dist'));
  app = await createServer(classifier, { web: { distDir, bundle } });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
  // age shifts the classes' logits apart, so a re-analysis with another age gives other probabilities
  const ageSlot = HAM10000_SITES.length + 2;
  const weights = Array.from({ length: 7 * OFFSET_WIDTH }, (_, i) =>
    i % OFFSET_WIDTH === ageSlot ? Math.floor(i / OFFSET_WIDTH) - 3 : 0,
  );
  await writeSmallCnnBundle(join(root, 'meta-bundle'), 64, {
    metadata: {
      fields: ['age', 'sex', 'localization'],
      sites: [...HAM10000_SITES],
      fusion: 'logit-offsets',
      weights,
    },
  });
  const metaBundle = await readModelBundle(join(root, 'meta-bundle'));
  metaClassifier = await createClassifier(metaBundle.dir, { threads: 1 });
  metaApp = await createServer(metaClassifier, { web: { distDir, bundle: metaBundle } });
  metaUrl = await metaApp.listen({ port: 0, host: '127.0.0.1' });
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
  await metaApp?.close();
  await metaClassifier?.dispose();
  if (root) await rm(root, { recursive: true, force: true });
});

/** The page's model input (the RGB drawn on #input-canvas). */
async function pageInput(page: Page): Promise<Uint8Array> {
  const rgba = await page.$eval('#input-canvas', (c) => {
    const canvas = c as HTMLCanvasElement;
    return Array.from(canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data);
  });
  return Uint8Array.from(rgba.filter((_, i) => i % 4 !== 3));
}

const probabilitiesOf = async (page: Page) =>
  JSON.parse((await page.getAttribute('#result', 'data-probabilities'))!) as number[];

/** Node's probabilities for an image file, from the same bundle the page serves. */
async function nodeProbabilities(file: string): Promise<number[]> {
  const out = at(await classifier.classifyFiles([file]), 0);
  if (!('probabilities' in out)) throw new Error(`node could not classify ${file}`);
  return Array.from(out.probabilities);
}

const largestDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Math.max(...Array.from(a, (v, i) => Math.abs(v - (b[i] ?? Number.NaN))));

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
    // the previous image's result is not left on show as if it were this one's
    expect(await page.getAttribute('#result', 'data-state')).toBe('error');
    expect(await page.isHidden('#result')).toBe(true);
    expect(await page.getAttribute('#result', 'data-probabilities')).toBeNull();
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

  it('converts a Display P3 image to sRGB as Node does (model input within 2 levels), not its raw values', async () => {
    const p3 = join(root, 'p3.png');
    await sharp(png).withIccProfile('p3').png().toFile(p3);
    const page = await browser.newPage();
    await page.goto(`${url}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    await page.setInputFiles('#file', p3);
    await page.waitForSelector('#result[data-state="done"]', { timeout: 60_000 });
    const spec = { width: 112, height: 112, resize: 'crop', colorConstancy: true } as const;
    const diff = largestDiff(await pageInput(page), await decodeImage(p3, spec));
    console.log(`web e2e: Display P3 model input max |page - node| = ${diff}`);
    expect(diff).toBeLessThanOrEqual(2); // ±1 from the colour conversion, times colour constancy's gain (was 12)
    await page.close();
  });

  it('shows the newest image when an earlier one finishes later, and analyses the same file picked again', async () => {
    const page = await browser.newPage();
    // decoding a file named slow* takes 1.5 s longer, as a big image would
    await page.addInitScript(() => {
      const decode = window.createImageBitmap.bind(window) as (...a: unknown[]) => Promise<ImageBitmap>;
      window.createImageBitmap = (async (image: unknown, ...rest: unknown[]) => {
        if (image instanceof File && image.name.startsWith('slow'))
          await new Promise((r) => setTimeout(r, 1500));
        return decode(image, ...rest);
      }) as typeof createImageBitmap;
    });
    await page.goto(`${url}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    const slow = join(root, 'slow.png');
    await writeFile(slow, await readFile(png2));
    await page.setInputFiles('#file', slow);
    await page.setInputFiles('#file', png);
    await page.waitForSelector('#result[data-state="done"][data-pending="0"]', { timeout: 20_000 });
    const shown = await probabilitiesOf(page);
    expect(largestDiff(shown, await nodeProbabilities(png))).toBeLessThan(1e-3);
    expect(largestDiff(shown, await nodeProbabilities(png2))).toBeGreaterThan(1e-3);
    expect(await page.getAttribute('#result', 'data-runs')).toBe('1'); // the overtaken one drew nothing

    // a real file chooser only reports a change when the file differs from the input's: the page clears it
    for (const runs of ['2', '3']) {
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('#drop')]);
      await chooser.setFiles(png);
      await page.waitForSelector(`#result[data-runs="${runs}"]`, { timeout: 20_000 });
    }
    await page.close();
  });

  it('analyses an image picked or dropped while the model loads once it is ready; a failed load says so', async () => {
    const failed = await browser.newPage();
    await failed.route('**/model/model.onnx', (route) => route.fulfill({ status: 404, body: 'gone' }));
    await failed.goto(`${url}/`);
    await failed.waitForSelector('body[data-ready="failed"]', { timeout: 20_000 });
    const info = await failed.textContent('#model-info');
    expect(info).toContain('Could not load the model');
    expect(info).not.toContain('Loading');
    expect(await failed.isDisabled('#file')).toBe(true);
    expect(await failed.textContent('#status')).toContain('cannot be analysed without the model');
    await failed.close();

    for (const how of ['pick', 'drop'] as const) {
      const page = await browser.newPage();
      let release = () => {};
      const held = new Promise<void>((r) => {
        release = r;
      });
      await page.route('**/model/model.onnx', async (route) => {
        await held;
        await route.continue();
      });
      await page.goto(`${url}/`);
      expect(await page.isDisabled('#file')).toBe(true);
      if (how === 'pick') await page.setInputFiles('#file', png);
      else {
        // once the page listens (its controls are wired before the model loads)
        await page.waitForFunction(() => document.getElementById('cam-scale')?.style.background);
        const bytes = (await readFile(png)).toString('base64');
        const dataTransfer = await page.evaluateHandle((b64) => {
          const dt = new DataTransfer();
          const file = new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'x.png', {
            type: 'image/png',
          });
          dt.items.add(file);
          return dt;
        }, bytes);
        await page.dispatchEvent('#drop', 'drop', { dataTransfer });
      }
      release();
      await page.waitForSelector('#result[data-runs="1"]', { timeout: 20_000 });
      expect(largestDiff(await probabilitiesOf(page), await nodeProbabilities(png))).toBeLessThan(1e-3);
      expect(await page.isEnabled('#file')).toBe(true);
      await page.close();
    }
  });

  it('re-analyses the image when age, sex or site change, and refuses an age the API refuses', async () => {
    const page = await browser.newPage();
    await page.goto(`${metaUrl}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    await page.setInputFiles('#file', png);
    await page.waitForSelector('#result[data-runs="1"]', { timeout: 20_000 });
    expect(await page.textContent('#timing')).toContain('metadata not given');
    const without = await probabilitiesOf(page);

    await page.click('#lesion-metadata summary');
    await page.fill('#meta-age', '70');
    await page.waitForSelector('#result[data-state="done"][data-pending="0"]:not([data-runs="1"])', {
      timeout: 20_000,
    });
    expect(await page.textContent('#timing')).toContain('metadata used');
    const with70 = await probabilitiesOf(page);
    expect(largestDiff(with70, without)).toBeGreaterThan(1e-3);
    const api = (await (
      await fetch(`${metaUrl}/v1/predict?age=70`, {
        method: 'POST',
        headers: { 'content-type': 'image/png' },
        body: await readFile(png),
      })
    ).json()) as { probabilities: Record<DxCode, number> };
    expect(
      largestDiff(
        with70,
        HAM10000_CLASSES.map((c) => api.probabilities[c]),
      ),
    ).toBeLessThan(1e-3);

    const runs = await page.getAttribute('#result', 'data-runs');
    await page.fill('#meta-age', '5000');
    await page.waitForSelector('#result[data-state="error"]', { state: 'attached', timeout: 20_000 });
    expect(await page.textContent('#status')).toContain(
      'expected an age in years from 0 to 120 for the metadata age but received "5000"',
    );
    expect(await page.isHidden('#result')).toBe(true);
    expect(await page.getAttribute('#result', 'data-runs')).toBe(runs);
    await page.close();
  });
});
