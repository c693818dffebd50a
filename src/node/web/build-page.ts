import { access, chmod, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expected } from '../../core/errors.js';
import { swapInto } from '../write-atomic.js';

/** The repository's `web/` folder (page source) and its default build output. */
export const WEB_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../web');
export const WEB_DIST = join(WEB_ROOT, 'dist');

/** ONNX Runtime Web's wasm runtime files, copied next to the page so nothing loads from a CDN. */
const ORT_FILES = ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs'];

/** True where the page's source is at hand (a clone of the repository), false in an installed package. */
export async function hasWebSource(webRoot: string = WEB_ROOT): Promise<boolean> {
  return access(join(webRoot, 'src/main.ts')).then(
    () => true,
    () => false,
  );
}

/**
 * Builds the page into `outDir` (default web/dist) from the page source in `webRoot` (default web/): esbuild
 * bundles src/main.ts (with the browser entry and onnxruntime-web) into app.js; index.html and style.css are
 * copied; ORT's wasm files go to ort/. The page is built in a temp folder beside `outDir` and renamed over it
 * only once complete, so a failed build leaves the page that was there. An installed package ships the built
 * page without its source: there the rebuild is refused (E_MISSING_FILE) before anything is touched.
 */
export async function buildWebPage(outDir: string = WEB_DIST, webRoot: string = WEB_ROOT): Promise<string> {
  const entry = join(webRoot, 'src/main.ts');
  if (!(await hasWebSource(webRoot))) {
    throw expected({
      what: `the page source ${entry}`,
      where: 'building the web page',
      received: 'no such file',
      fix: 'build it in a clone of the repository (npm run build:web); an installed lesionlab ships the page built (web/dist): reinstall it if that is missing',
      code: 'E_MISSING_FILE',
    });
  }
  const esbuild = await import('esbuild');
  await mkdir(dirname(outDir), { recursive: true });
  const tmp = await mkdtemp(join(dirname(outDir), `.${basename(outDir)}.tmp-`));
  try {
    // mkdtemp makes the folder private (0700); the page is read by whoever serves it, as a mkdir'd one was
    await chmod(tmp, 0o777 & ~process.umask());
    await mkdir(join(tmp, 'ort'));
    await esbuild.build({
      entryPoints: [entry],
      outfile: join(tmp, 'app.js'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['chrome110', 'firefox115', 'safari16'],
      minify: true,
      sourcemap: true,
      logLevel: 'silent',
    });
    await copyFile(join(webRoot, 'index.html'), join(tmp, 'index.html'));
    await copyFile(join(webRoot, 'style.css'), join(tmp, 'style.css'));
    const ortDist = dirname(
      createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'),
    );
    for (const f of ORT_FILES) await copyFile(join(ortDist, f), join(tmp, 'ort', f));
    await swapInto(tmp, outDir);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw error;
  }
  return outDir;
}
