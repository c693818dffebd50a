import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadWebModel } from '../../src/browser/ort-web.js';
import { HAM10000_CLASSES } from '../../src/core/labels.js';
import { writeEditedTinyBundle } from '../support/tiny-model.js';

// ONNX Runtime Web's wasm build runs in Node as in a page: the page's fetches are answered from bundle folders.
const HOST = 'http://lesionlab.test/';
const wasmBase = pathToFileURL(`${dirname(createRequire(import.meta.url).resolve('onnxruntime-web'))}/`).href;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-ort-web-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllGlobals();
});

/** Serves `HOST<folder>/<file>` from `root/<folder>/<file>`. */
function serveBundles(): void {
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => {
      const path = new URL(url).pathname;
      return new Response(await readFile(join(root, basename(dirname(path)), basename(path))), {
        status: 200,
      });
    }),
  );
}

const load = (folder: string) => loadWebModel({ modelBase: `${HOST}${folder}/`, wasmBase });
const ham = [...HAM10000_CLASSES];

describe('loadWebModel checks model.onnx against bundle.json', () => {
  it('loads a consistent bundle and classifies', async () => {
    await writeEditedTinyBundle(join(root, 'ok'), 7, (meta) => meta);
    serveBundles();
    const model = await load('ok');
    const prediction = await model.predict(new Uint8Array(16 * 16 * 3).fill(100));
    expect(prediction.probabilities).toHaveLength(7);
    expect(prediction.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(prediction.cam?.dims).toEqual([1, 16, 16, 7]);
  });

  it('refuses a model with another class count at load', async () => {
    await writeEditedTinyBundle(join(root, 'classes'), 8, (meta) => ({ ...meta, classes: ham }));
    serveBundles();
    await expect(load('classes')).rejects.toMatchObject({
      code: 'E_MODEL_BUNDLE',
      message: expect.stringMatching(
        /^expected an output "probabilities" of \[N, 7\] \(bundle\.json lists 7 classes\) for http:\/\/lesionlab\.test\/classes\/model\.onnx but received \[N, 8\]; bundle\.json and its ONNX model must come from the same model/,
      ),
    });
  });

  it('refuses a preprocess size other than the model input, and outputs bundle.json names that the model lacks', async () => {
    await writeEditedTinyBundle(join(root, 'size'), 7, (meta) => ({
      ...meta,
      preprocess: { ...meta.preprocess, width: 24, height: 24 },
    }));
    await writeEditedTinyBundle(join(root, 'names'), 7, (meta) => ({
      ...meta,
      onnx: { ...meta.onnx, cam: 'heatmap' },
    }));
    serveBundles();
    await expect(load('size')).rejects.toMatchObject({
      code: 'E_MODEL_BUNDLE',
      message: expect.stringMatching(
        /^expected an input "input" of \[N, 24, 24, 3\] \(bundle\.json preprocess is 24x24 RGB\) for \S+ but received \[N, 16, 16, 3\];/,
      ),
    });
    await expect(load('names')).rejects.toMatchObject({
      code: 'E_MODEL_BUNDLE',
      message:
        'expected an output "heatmap" (as bundle.json names it) for http://lesionlab.test/names/model.onnx but received outputs probabilities, cam; re-export the bundle',
    });
  });
});
