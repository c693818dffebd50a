import { readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { expected, isLesionlabError } from '../../core/errors.js';
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

/** How long Chromium gets to start, to load the report and to take the screenshot (each), unless told. */
export const BROWSER_TIMEOUT_MS = 20_000;

/** Options of {@link inspectReport}. */
export interface InspectOptions {
  /** Milliseconds for each step (launch, page load, screenshot); default {@link BROWSER_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
}

/**
 * Opens a report in headless Chromium (playwright-core), counts each chart's SVG marks, checks images,
 * console errors and requests, and (with `pngPath`) saves a full-page screenshot. A Chromium that is missing
 * throws E_MISSING_FILE; one that fails to start, crashes or hangs (each step has `timeoutMs`) throws one
 * E_MISSING_FILE line naming the step, Playwright's first line and Chromium's last stderr line.
 */
export async function inspectReport(
  htmlPath: string,
  pngPath?: string,
  options: InspectOptions = {},
): Promise<ReportInspection> {
  const timeout = options.timeoutMs ?? BROWSER_TIMEOUT_MS;
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
  let step = 'start';
  try {
    const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout });
    try {
      step = 'open the report';
      const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
      page.setDefaultTimeout(timeout);
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
      await page.goto(fileUrl, { waitUntil: 'load', timeout });
      step = 'inspect the report';
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
      if (pngPath) {
        step = 'screenshot the report';
        const png = await page.screenshot({ fullPage: true, timeout });
        step = ''; // a failed write is E_WRITE, not Chromium's fault
        await writeFileAtomic(pngPath, png);
      }
      return { charts, images, consoleErrors, failedRequests, externalRequests };
    } finally {
      await browser.close().catch(() => {});
    }
  } catch (error) {
    if (isLesionlabError(error) || !step) throw error;
    if (step === 'start') killLaunched(String((error as Error)?.message));
    throw browserFailure(executablePath, step, error);
  }
}

/**
 * Kills the Chromium a failed launch left running. On a launch timeout Playwright first asks it to close
 * and kills it only after its own 30 s timeout, keeping a hung Chromium (and this process) alive that long.
 * Its pid comes from Playwright's call log (`<launched> pid=N`); only a child of this process is killed.
 */
function killLaunched(message: string): void {
  const pid = Number(/<launched> pid=(\d+)/.exec(message)?.[1] ?? 0);
  if (!pid) return;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === process.pid) process.kill(-pid, 'SIGKILL'); // Playwright starts it in its own process group
  } catch {
    // gone already, or not Linux: Playwright kills it in the end
  }
}

/** The colour codes of Playwright's call log. */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/**
 * One E_MISSING_FILE line for a Chromium that did not do `step`: the first line of Playwright's message (its
 * call log and Chromium's output follow on further lines) and, when Chromium wrote to stderr, its last line
 * (`error while loading shared libraries: libnss3.so`).
 */
function browserFailure(executablePath: string, step: string, error: unknown): Error {
  const message = String((error as Error)?.message ?? error).replace(ANSI_COLOUR, '');
  const first = (message.split('\n')[0] ?? '').trim().replace(/\.$/, '');
  const said = message
    .split('\n')
    .map((line) => /^\s*(?:- )?\[pid=\d+\]\[err\] (.*\S)/.exec(line)?.[1])
    .filter((line) => line !== undefined)
    .at(-1);
  const chromiumSaid = said && !first.includes(said) ? ` (Chromium's stderr: ${said.slice(0, 200)})` : '';
  return expected({
    what: `a Chromium that can ${step}`,
    where: executablePath,
    received: `${first || 'an error'}${chromiumSaid}`,
    fix: "check it runs (chromium --headless --version), install Debian's (apt install chromium) or set LESIONLAB_CHROMIUM",
    code: 'E_MISSING_FILE',
    cause: error,
  });
}

/** Renders a report in headless Chromium and saves a full-page PNG screenshot (e.g. `report.png`). */
export async function screenshotReport(
  htmlPath: string,
  pngPath: string,
  options: InspectOptions = {},
): Promise<ReportInspection> {
  return inspectReport(htmlPath, pngPath, options);
}
