import type { PreprocessSpec } from '../../core/preprocess/spec.js';
import { decodeImage } from '../preprocess/decode-image.js';

/** Decodes a file or buffer into the model's NHWC uint8 input with the bundle's preprocessing (src/node/preprocess). */
export function decodeForModel(source: string | Uint8Array, spec: PreprocessSpec): Promise<Uint8Array> {
  return decodeImage(source, spec);
}
