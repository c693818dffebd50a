import { expected, shown } from '../../core/errors.js';
import type { ModelSession } from '../../core/infer/classifier.js';
import type { Logger } from '../../core/logger.js';
import type { ModelBundle } from '../bundle/read.js';
import { createOnnxSession } from '../onnx/session.js';

/**
 * Opens one ONNX Runtime session (src/node/onnx) for the bundle as the core classifier's `ModelSession`,
 * asking it only for the probabilities output (Node shows no class-activation map).
 */
export async function openClassifierSession(
  bundle: ModelBundle,
  options: { threads?: number; logger?: Logger },
): Promise<ModelSession> {
  const session = await createOnnxSession(bundle.onnxPath, {
    threads: options.threads,
    logger: options.logger,
  });
  const name = bundle.meta.onnx.probabilities;
  if (!session.outputNames.includes(name)) {
    await session.dispose();
    throw expected({
      what: `an output ${shown(name)} (as bundle.json names it)`,
      where: bundle.onnxPath,
      received: `outputs ${session.outputNames.join(', ')}`,
      fix: 're-export the bundle',
      code: 'E_MODEL_BUNDLE',
    });
  }
  return {
    async run(input, dims) {
      return { probabilities: (await session.runOutput(input, dims, name)).data };
    },
    dispose: () => session.dispose(),
  };
}
