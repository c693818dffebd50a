// Worker thread of the decode pool (see decode-pool.ts): decodes and preprocesses images with `decodeImage`
// and posts the pixels back as transferred ArrayBuffers.
import type { PreprocessSpec } from '../../core/preprocess/spec.js';
import { ownedPixels, serveRequests } from '../threads/serve-requests.js';
import { type DecodeHints, decodeImage, loadSharp, readImageFileSync } from './decode-image.js';

/** A request from the pool: decode `path` (a file, or encoded image bytes) under `spec`; `hints` as `decodeImage`'s. */
export interface DecodeRequest {
  readonly path: string | Uint8Array;
  readonly spec: PreprocessSpec;
  readonly hints?: DecodeHints;
}

/** `decodeImage(path, spec)`, reading the file with a blocking read: this thread has nothing else to do, and a
 * small file's blocking read costs a tenth of the CPU of an asynchronous one (no thread-pool round trips). */
async function decodeFile({ path, spec, hints }: DecodeRequest): Promise<Uint8Array> {
  if (typeof path !== 'string') return decodeImage(path, spec, undefined, hints);
  return decodeImage(readImageFileSync(path), spec, path, hints);
}

await loadSharp();
serveRequests<DecodeRequest, Uint8Array>(async (request) => {
  const pixels = ownedPixels(await decodeFile(request));
  return { value: pixels, transfer: [pixels.buffer as ArrayBuffer] };
});
