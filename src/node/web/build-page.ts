import { copyFile, mkdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's `web/` folder (page source) and its default build output. */
export const WEB_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../web');
export const WEB_DIST = join(WEB_ROOT, 'dist');

/** ONNX Runtime Web's wasm runtime files, copied next to the page so nothing loads from a CDN. */
const ORT_FILES = ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs'];

/**
 * Builds the page into `outDir` (default web/dist): esbuild bundles web/src/main.ts (with the browser
 * entry and onnxruntime-web) into app.js; index.html and style.css are copied; ORT's wasm files go to ort/.
 */
export async function buildWebPage(outDir: string = WEB_DIST): Promise<string> {
  const esbuild = await import('esbuild');
  await rm(outDir, { recursive: true, force: true });
  await mkdir(join(outDir, 'ort'), { recursive: true });
  await esbuild.build({
    entryPoints: [join(WEB_ROOT, 'src/main.ts')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: true,
    logLevel: 'silent',
  });
  await copyFile(join(WEB_ROOT, 'index.html'), join(outDir, 'index.html'));
  await copyFile(join(WEB_ROOT, 'style.css'), join(outDir, 'style.css'));
  const ortDist = dirname(
    createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'),
  );
  for (const f of ORT_FILES) await copyFile(join(ortDist, f), join(outDir, 'ort', f));
  return outDir;
}
