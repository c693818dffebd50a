import { expected, shown } from '../../core/errors.js';
import { checkDeclaredShapes, declaredShape, type ModelSession } from '../../core/infer/classifier.js';
import type { Logger } from '../../core/logger.js';
import type { ModelBundle } from '../bundle/read.js';
import { createOnnxSession, type OnnxSession } from '../onnx/session.js';

/**
 * Throws E_MODEL_BUNDLE unless the session has the probabilities output bundle.json names and the shapes its model
 * declares agree with bundle.json (classes, preprocess size): a mismatch fails here, at load, not every request.
 */
function checkSession(session: OnnxSession, bundle: ModelBundle): void {
  const { meta, onnxPath } = bundle;
  const name = meta.onnx.probabilities;
  if (!session.outputNames.includes(name)) {
    throw expected({
      what: `an output ${shown(name)} (as bundle.json names it)`,
      where: onnxPath,
      received: `outputs ${session.outputNames.join(', ')}`,
      fix: 're-export the bundle',
      code: 'E_MODEL_BUNDLE',
    });
  }
  // the session feeds its first input, whatever bundle.json calls it
  checkDeclaredShapes(
    meta,
    {
      input: declaredShape(session.inputMetadata, session.inputNames[0]),
      probabilities: declaredShape(session.outputMetadata, name),
    },
    onnxPath,
  );
}

/**
 * Opens one ONNX Runtime session (src/node/onnx) for the bundle as the core classifier's `ModelSession`,
 * asking it only for the probabilities output (Node shows no class-activation map). A model whose outputs or
 * declared shapes disagree with bundle.json is refused with E_MODEL_BUNDLE.
 */
export async function openClassifierSession(
  bundle: ModelBundle,
  options: { threads?: number; logger?: Logger },
): Promise<ModelSession> {
  const session = await createOnnxSession(bundle.onnxPath, {
    threads: options.threads,
    logger: options.logger,
  });
  try {
    checkSession(session, bundle);
  } catch (error) {
    await session.dispose();
    throw error;
  }
  const name = bundle.meta.onnx.probabilities;
  return {
    async run(input, dims) {
      return { probabilities: (await session.runOutput(input, dims, name)).data };
    },
    dispose: () => session.dispose(),
  };
}
