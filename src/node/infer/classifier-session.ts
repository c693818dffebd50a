import { LesionlabError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ModelBundle } from '../bundle/read.js';
import { createOnnxSession } from '../onnx/session.js';

/** The forward pass of a bundle's ONNX model, as the classifier needs it. */
export interface OnnxClassifierSession {
  /** Runs `input` (NHWC float32 0..255 with `dims`) and returns the flat `[N, classes]` probabilities. */
  probabilities(input: Float32Array, dims: readonly number[]): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** Opens one ONNX Runtime session (src/node/onnx) for the bundle and asks it only for `probabilities`. */
export async function openClassifierSession(
  bundle: ModelBundle,
  options: { threads?: number; logger?: Logger },
): Promise<OnnxClassifierSession> {
  const session = await createOnnxSession(bundle.onnxPath, {
    threads: options.threads,
    logger: options.logger,
  });
  const name = bundle.meta.onnx.probabilities;
  if (!session.outputNames.includes(name)) {
    await session.dispose();
    throw new LesionlabError(
      'E_MODEL_BUNDLE',
      `${bundle.onnxPath}: has outputs ${session.outputNames.join(', ')} but bundle.json names "${name}"; re-export the bundle`,
    );
  }
  return {
    async probabilities(input, dims) {
      const out = await session.run(input, dims, [name]);
      return out[name]!.data;
    },
    dispose: () => session.dispose(),
  };
}
