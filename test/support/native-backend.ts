import * as tf from '@tensorflow/tfjs';
import { type BackendPurpose, selectBackend } from '../../src/node/backend/backend.js';

/**
 * Tries the native backend (tfjs-node, `npm run native:build`) for `purpose`, then returns to cpu so a test
 * file can compare the two: null when native loaded, else why it did not (for the skip note).
 */
export async function probeNativeBackend(purpose: BackendPurpose): Promise<string | null> {
  const missing = await selectBackend('tensorflow', purpose).then(
    () => null,
    (error: Error) => error.message,
  );
  await tf.setBackend('cpu');
  return missing;
}
