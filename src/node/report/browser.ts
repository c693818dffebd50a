import { access } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { expected } from '../../core/errors.js';
import { writeFileAtomic } from '../write-atomic.js';

/** What a headless browser saw when it opened a report. */
export interface ReportInspection {
  /** Per chart (`data-chart` id): how many drawn marks (paths, rects, symbols, lines, text) its SVG holds. */
  readonly charts: readonly {
    readonly id: string;
    readonly marks: number;
    readonly width: number;
    readonly height: number;
  }[];
  readonly images: { readonly total: number; readonly broken: number };
  readonly consoleErrors: readonly string[];
  readonly failedRequests: readonly string[];
  /** Requests to anything but the file itself and data: URIs (a self-contained report makes none). */
  readonly externalRequests: readonly string[];
}

/** Where Debian puts Chromium; override with LESIONLAB_CHROMIUM. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Opens a report in headless Chromium (playwright-core), counts each chart's SVG marks, checks images,
 * console errors and requests, and (with `pngPath`) saves a full-page screenshot.
 */
export async function inspectReport(htmlPath: string, pngPath?: string): Promise<ReportInspection> {
  const executablePath = process.env.LESIONLAB_CHROMIUM ?? DEFAULT_CHROMIUM;
  await access(executablePath).catch(() => {
    throw expected({
      what: 'a Chromium executable',
      where: executablePath,
      received: 'no Chromium found',
      fix: 'install it (apt install chromium) or set LESIONLAB_CHROMIUM',
      code: 'E_MISSING_FILE',
    });
  });
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
    const consoleErrors: string[] = [];
    const failedRequests: string[] = [];
    const externalRequests: string[] = [];
    const fileUrl = pathToFileURL(htmlPath).href;
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('requestfailed', (r) => failedRequests.push(r.url()));
    page.on('request', (r) => {
      if (r.url() !== fileUrl && !r.url().startsWith('data:')) externalRequests.push(r.url());
    });
    await page.goto(fileUrl, { waitUntil: 'load' });
    const charts = await page.$$eval('[data-chart]', (figs) =>
      figs.map((f) => {
        const svg = f.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        const marks = svg
          ? svg.querySelectorAll('path, rect, line, circle, text, .mark-symbol path').length
          : 0;
        return {
          id: f.getAttribute('data-chart') ?? '',
          marks,
          width: box?.width ?? 0,
          height: box?.height ?? 0,
        };
      }),
    );
    const images = await page.$$eval('img', (imgs) => ({
      total: imgs.length,
      broken: imgs.filter(
        (i) => !(i as HTMLImageElement).complete || (i as HTMLImageElement).naturalWidth === 0,
      ).length,
    }));
    if (pngPath) await writeFileAtomic(pngPath, await page.screenshot({ fullPage: true }));
    return { charts, images, consoleErrors, failedRequests, externalRequests };
  } finally {
    await browser.close();
  }
}

/** Renders a report in headless Chromium and saves a full-page PNG screenshot (e.g. `report.png`). */
export async function screenshotReport(htmlPath: string, pngPath: string): Promise<ReportInspection> {
  return inspectReport(htmlPath, pngPath);
}
