import * as tf from '@tensorflow/tfjs';
import { LesionlabError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { exportOnnx } from '../../core/onnx/export.js';
import { createOnnxSession } from '../onnx/session.js';

/**
 * A frozen model (the backbone with its pooling, or fine-tuning's prefix) run forward on one runtime, ONNX
 * Runtime or TF.js (config `features.engine`, `fineTune.prefixEngine`): NHWC uint8 pixels in, float32 out.
 */
export interface FeatureExtractor {
  readonly name: 'onnx' | 'tfjs';
  /** Outputs [count·width] of `count` square `size`x`size` RGB images. */
  run(pixels: Uint8Array, count: number, size: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** On TF.js: `model.predict` on the active backend (the fallback; slow on cpu). */
export function createTfjsFeatureExtractor(model: tf.LayersModel): FeatureExtractor {
  return {
    name: 'tfjs',
    async run(pixels, count, size) {
      const out = tf.tidy(
        () => model.predict(tf.tensor4d(new Float32Array(pixels), [count, size, size, 3])) as tf.Tensor,
      );
      const values = (await out.data()) as Float32Array;
      out.dispose();
      return values;
    },
    dispose: async () => {},
  };
}

/** On ONNX Runtime: exports the model to ONNX once and runs it natively. */
export async function createOnnxFeatureExtractor(
  model: tf.LayersModel,
  options: { threads?: number; logger?: Logger } = {},
): Promise<FeatureExtractor> {
  const exported = exportOnnx(model, { inputName: 'input', outputNames: ['features'] });
  const session = await createOnnxSession(exported.bytes, {
    threads: options.threads,
    logger: options.logger,
    providers: ['cpu'],
  });
  return {
    name: 'onnx',
    async run(pixels, count, size) {
      return (await session.runOutput(new Float32Array(pixels), [count, size, size, 3], 'features')).data;
    },
    dispose: () => session.dispose(),
  };
}

/**
 * The runtime asked for, falling back from ONNX Runtime to TF.js with one warning saying why (never silent).
 */
export async function createFeatureExtractor(
  choice: 'onnx' | 'tfjs',
  model: tf.LayersModel,
  options: { threads?: number; logger: Logger },
): Promise<FeatureExtractor> {
  if (choice === 'tfjs') return createTfjsFeatureExtractor(model);
  try {
    const extractor = await createOnnxFeatureExtractor(model, options);
    options.logger.info(`feature engine: onnxruntime (${options.threads ?? 'default'} threads)`);
    return extractor;
  } catch (error) {
    const reason = error instanceof LesionlabError || error instanceof Error ? error.message : String(error);
    options.logger.warn(
      `feature engine: ONNX Runtime unavailable (${reason}); falling back to TF.js (slower)`,
    );
    return createTfjsFeatureExtractor(model);
  }
}
