import * as tf from '@tensorflow/tfjs';
import { LesionlabError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { exportOnnx } from '../../core/onnx/export.js';
import { createOnnxSession } from '../onnx/session.js';

/** A forward engine for the frozen feature extractor: NHWC uint8 pixels in, pooled float32 features out. */
export interface FeatureEngine {
  readonly name: 'onnx' | 'tfjs';
  /** Features [count·width] of `count` square `size`x`size` RGB images. */
  run(pixels: Uint8Array, count: number, size: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** TF.js engine: `extractor.predict` on the active backend (the fallback; slow on cpu). */
export function createTfjsFeatureEngine(extractor: tf.LayersModel): FeatureEngine {
  return {
    name: 'tfjs',
    async run(pixels, count, size) {
      const out = tf.tidy(
        () => extractor.predict(tf.tensor4d(Float32Array.from(pixels), [count, size, size, 3])) as tf.Tensor,
      );
      const values = (await out.data()) as Float32Array;
      out.dispose();
      return values;
    },
    dispose: async () => {},
  };
}

/** ONNX Runtime engine: exports the extractor (backbone + pooling) to ONNX once and runs it natively. */
export async function createOnnxFeatureEngine(
  extractor: tf.LayersModel,
  options: { threads?: number; logger?: Logger } = {},
): Promise<FeatureEngine> {
  const exported = exportOnnx(extractor, { inputName: 'input', outputNames: ['features'] });
  const session = await createOnnxSession(exported.bytes, {
    threads: options.threads,
    logger: options.logger,
    providers: ['cpu'],
  });
  return {
    name: 'onnx',
    async run(pixels, count, size) {
      const result = await session.run(Float32Array.from(pixels), [count, size, size, 3], ['features']);
      return result['features'].data;
    },
    dispose: () => session.dispose(),
  };
}

/**
 * The engine asked for, falling back from ONNX Runtime to TF.js with one warning saying why (never silent).
 */
export async function createFeatureEngine(
  choice: 'onnx' | 'tfjs',
  extractor: tf.LayersModel,
  options: { threads?: number; logger: Logger },
): Promise<FeatureEngine> {
  if (choice === 'tfjs') return createTfjsFeatureEngine(extractor);
  try {
    const engine = await createOnnxFeatureEngine(extractor, options);
    options.logger.info(`feature engine: onnxruntime (${options.threads ?? 'default'} threads)`);
    return engine;
  } catch (error) {
    const reason = error instanceof LesionlabError || error instanceof Error ? error.message : String(error);
    options.logger.warn(
      `feature engine: ONNX Runtime unavailable (${reason}); falling back to TF.js (slower)`,
    );
    return createTfjsFeatureEngine(extractor);
  }
}
