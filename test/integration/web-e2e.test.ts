import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAM10000_CLASSES } from '../../src/core/labels.js';
import { readModelBundle } from '../../src/node/bundle/read.js';
import { writeModelBundle } from '../../src/node/bundle/write.js';
import { type Classifier, createClassifier } from '../../src/node/infer/classifier.js';
import { createServer } from '../../src/serve/server.js';
import { buildWebPage } from '../../src/serve/web-build.js';
import { buildSmallCnn } from '../node/bundle/tiny-model.js';

const CHROMIUM = '/usr/bin/chromium';
const SAMPLE = join(process.cwd(), 'data/sample/ham10000/HAM10000_images_part_1');
const SCREENSHOT_DIR = join(process.cwd(), 'tmp');
const hasChromium = await access(CHROMIUM).then(
  () => true,
  () => false,
);

let root: string;
let app: FastifyInstance;
let classifier: Classifier;
let browser: Browser;
let url: string;
let png: string;

beforeAll(async () => {
  if (!hasChromium) return;
  root = await mkdtemp(join(tmpdir(), 'lesionlab-web-'));
  const model = buildSmallCnn(112);
  // 112x112 model: the 200x150 sample images are under twice the box, so neither side pre-shrinks and
  // Node (sharp decode) and the page (canvas decode) feed the same pixels to the same shared bilinear resize.
  await writeModelBundle(join(root, 'bundle'), {
    model,
    name: 'small-cnn-e2e',
    backbone: 'small_cnn',
    classes: HAM10000_CLASSES,
    preprocess: { width: 112, height: 112, resize: 'crop', colorConstancy: true },
    normalization: { mean: [0, 0, 0], std: [1, 1, 1] },
  });
  model.dispose();
  const jpg = (await readdir(SAMPLE)).filter((f) => f.endsWith('.jpg')).sort()[0];
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
    const cli = JSON.parse(stdout.trim()).probabilities as Record<string, number>;
    const maxDiff = Math.max(...HAM10000_CLASSES.map((c, i) => Math.abs(cli[c] - inPage[i])));
    expect(maxDiff).toBeLessThan(1e-3);
    expect(Math.max(...inPage)).toBeLessThan(0.99); // not saturated: a real comparison
    expect(inPage.filter((p) => p > 0.01).length).toBeGreaterThanOrEqual(2);

    expect(errors).toEqual([]);
    expect(requests.every((r) => r.url.startsWith(url))).toBe(true);
    expect(requests.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(await page.locator('.bar-row').count()).toBe(7);

    // The original JPEG: Chromium's and libvips' JPEG decoders may differ by a level here and there,
    // so this path is only reported, not held to 1e-3.
    const jpg = join(SAMPLE, (await readdir(SAMPLE)).filter((f) => f.endsWith('.jpg')).sort()[0]);
    await page.setInputFiles('#file', jpg);
    await page.waitForSelector('#result[data-runs="2"]');
    const jpgPage = JSON.parse((await page.getAttribute('#result', 'data-probabilities'))!) as number[];
    const jpgCli = (await classifier.classifyFiles([jpg]))[0];
    const jpgDiff =
      'probabilities' in jpgCli
        ? Math.max(...jpgPage.map((p, i) => Math.abs(p - jpgCli.probabilities[i])))
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
});
