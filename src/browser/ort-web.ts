import * as ort from 'onnxruntime-web/wasm';
import type { BundleMeta } from '../core/bundle/meta.js';
import { expected, shown } from '../core/errors.js';
import {
  checkDeclaredShapes,
  createPixelClassifier,
  declaredShape,
  type ModelSession,
} from '../core/infer/classifier.js';
import type { DihedralView } from '../core/preprocess/views.js';
import type { LesionMetadata } from '../core/train/metadata.js';
import { type BrowserPrediction, fetchBundleMeta } from './classify.js';
import { preprocessRgba } from './preprocess.js';

/** Decoded RGBA pixels as a canvas gives them (`ImageData`). */
export interface RgbaImage {
  readonly data: Uint8ClampedArray | Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** A bundle loaded in the browser: its metadata and a classifier for preprocessed pixels. */
export interface WebModel {
  readonly meta: BundleMeta;
  /** Which wasm threads ONNX Runtime Web uses (1 unless the page is cross-origin isolated). */
  readonly threads: number;
  /** The exact views averaged per image: the bundle's recipe (`testViews`), the image only for older bundles. */
  readonly views: readonly DihedralView[];
  /** Turns canvas pixels into the model input with the bundle's preprocessing (as `preprocessRgba`). */
  decode(image: RgbaImage): Promise<Uint8Array>;
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
 * Throws E_MODEL_BUNDLE unless the session has the input and outputs bundle.json names (`where` is the model's URL)
 * and the shapes its model declares agree with bundle.json (classes, preprocess size): a bundle whose model.onnx
 * and bundle.json disagree fails at load, not on every image.
 */
function checkWebSession(session: ort.InferenceSession, meta: BundleMeta, where: string): void {
  const { input, probabilities, cam } = meta.onnx;
  const expectName = (kind: 'input' | 'output', name: string, names: readonly string[]) => {
    if (names.includes(name)) return;
    throw expected({
      what: `an ${kind} ${shown(name)} (as bundle.json names it)`,
      where,
      received: `${kind}s ${names.join(', ')}`,
      fix: 're-export the bundle',
      code: 'E_MODEL_BUNDLE',
    });
  };
  expectName('input', input, session.inputNames);
  expectName('output', probabilities, session.outputNames);
  if (cam) expectName('output', cam, session.outputNames);
  checkDeclaredShapes(
    meta,
    {
      input: declaredShape(session.inputMetadata, input),
      probabilities: declaredShape(session.outputMetadata, probabilities),
      cam: declaredShape(session.outputMetadata, cam),
    },
    where,
  );
}

/** ONNX Runtime Web's session as the core classifier's `ModelSession`: probabilities and, when the bundle has one, the CAM. */
function webSession(session: ort.InferenceSession, meta: BundleMeta): ModelSession {
  const { input, probabilities, cam } = meta.onnx;
  const outputs = [probabilities, ...(cam ? [cam] : [])];
  return {
    async run(data, dims) {
      const out = await session.run({ [input]: new ort.Tensor('float32', data, [...dims]) }, outputs);
      const probs = out[probabilities];
      if (!probs) {
        throw expected({
          what: `an output ${shown(probabilities)} (bundle.json onnx.probabilities)`,
          where: 'the ONNX model',
          received: `outputs ${session.outputNames.join(', ')}`,
          fix: 're-export the bundle',
          code: 'E_MODEL_BUNDLE',
        });
      }
      const camT = cam ? out[cam] : undefined;
      return {
        probabilities: probs.data as Float32Array,
        ...(camT ? { cam: { data: camT.data as Float32Array, dims: camT.dims.map(Number) } } : {}),
      };
    },
    dispose: () => session.release(),
  };
}

/**
 * Loads a model bundle into ONNX Runtime Web (wasm). Uses one thread unless the page is cross-origin
 * isolated (SharedArrayBuffer available). The image never leaves the browser. A model whose inputs, outputs or
 * declared shapes disagree with bundle.json is refused (E_MODEL_BUNDLE).
 */
export async function loadWebModel(urls: WebModelUrls): Promise<WebModel> {
  const meta = await fetchBundleMeta(new URL('bundle.json', urls.modelBase).href);
  const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated;
  const threads = isolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = urls.wasmBase;
  const modelUrl = new URL(meta.onnx.file, urls.modelBase).href;
  const session = await ort.InferenceSession.create(modelUrl, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  try {
    checkWebSession(session, meta, modelUrl);
  } catch (error) {
    await session.release();
    throw error;
  }
  const classifier = createPixelClassifier(meta, webSession(session, meta), async (image: RgbaImage, spec) =>
    preprocessRgba(image.data, image.width, image.height, spec),
  );
  return {
    meta,
    threads,
    views: classifier.views,
    decode: classifier.decode,
    async predict(pixels, metadata) {
      const start = performance.now();
      const prediction = await classifier.classifyImage(pixels, metadata);
      return { ...prediction, inferenceMs: performance.now() - start };
    },
  };
}
