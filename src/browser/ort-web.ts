import * as ort from 'onnxruntime-web/wasm';
import type { BundleMeta } from '../core/bundle/meta.js';
import { averageViews, type DihedralView, expandViews } from '../core/preprocess/views.js';
import { fuseMetadata, hasMetadata, type LesionMetadata } from '../core/train/metadata.js';
import { type BrowserPrediction, fetchBundleMeta, rankClasses } from './classify.js';

/** A bundle loaded in the browser: its metadata and a classifier for preprocessed pixels. */
export interface WebModel {
  readonly meta: BundleMeta;
  /** Which wasm threads ONNX Runtime Web uses (1 unless the page is cross-origin isolated). */
  readonly threads: number;
  /** The exact views averaged per image: the bundle's recipe (`testViews`), the image only for older bundles. */
  readonly views: readonly DihedralView[];
  /**
   * Classifies one image given as HWC RGB uint8 at the bundle's preprocess size, averaging the bundle's
   * test views (the class-activation map is the unflipped view's).
   */
  predict(pixels: Uint8Array, metadata?: LesionMetadata): Promise<BrowserPrediction>;
}

/** Where the page finds its model and ONNX Runtime's wasm files (all same-origin: no CDN). */
export interface WebModelUrls {
  /** Folder URL holding `bundle.json` and the ONNX file, e.g. `./model/`. */
  readonly modelBase: string;
  /** Folder URL holding `ort-wasm-simd-threaded.{wasm,mjs}`, e.g. `./ort/`. */
  readonly wasmBase: string;
}

/**
 * Loads a model bundle into ONNX Runtime Web (wasm). Uses one thread unless the page is cross-origin
 * isolated (SharedArrayBuffer available). The image never leaves the browser.
 */
export async function loadWebModel(urls: WebModelUrls): Promise<WebModel> {
  const meta = await fetchBundleMeta(new URL('bundle.json', urls.modelBase).href);
  const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated;
  const threads = isolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = urls.wasmBase;
  const session = await ort.InferenceSession.create(new URL(meta.onnx.file, urls.modelBase).href, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  const { width, height } = meta.preprocess;
  const outputs = [meta.onnx.probabilities, ...(meta.onnx.cam ? [meta.onnx.cam] : [])];
  const views = meta.testViews ?? ['identity'];
  return {
    meta,
    threads,
    views,
    async predict(pixels, metadata) {
      const start = performance.now();
      const batch = Float32Array.from(expandViews(pixels, 1, width, height, views));
      const input = new ort.Tensor('float32', batch, [views.length, height, width, 3]);
      const out = await session.run({ [meta.onnx.input]: input }, outputs);
      const rows = out[meta.onnx.probabilities]!.data as Float32Array;
      const [image] = averageViews(rows, 1, meta.classes.length, views.length);
      const metadataUsed = meta.metadata !== undefined && hasMetadata(metadata);
      const probabilities = meta.metadata ? fuseMetadata(meta.metadata, image, metadata) : image;
      const camT = meta.onnx.cam ? out[meta.onnx.cam] : undefined;
      const camDims = camT?.dims.map(Number);
      const cam =
        camT && camDims
          ? { data: firstView(camT.data as Float32Array, views.length), dims: [1, ...camDims.slice(1)] }
          : undefined;
      return {
        probabilities,
        ranked: rankClasses(probabilities, meta.classes),
        cam,
        views,
        metadataUsed,
        inferenceMs: performance.now() - start,
      };
    },
  };
}

/** The first view's slice of a batched output of `views` equal-sized items. */
function firstView(data: Float32Array, views: number): Float32Array {
  return data.subarray(0, data.length / views);
}
