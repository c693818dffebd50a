// Worker thread of the decode pool (see decode-pool.ts): decodes and preprocesses images with `decodeImage`
// and posts the pixels back as transferred ArrayBuffers; errors go back as plain data (code, message, stack).
import { parentPort } from 'node:worker_threads';
import { isLesionlabError } from '../../core/errors.js';
import type { PreprocessSpec } from '../../core/preprocess/spec.js';
import { decodeImage, loadSharp, readImageFileSync } from './decode-image.js';

/** A request from the pool: decode `path` (a file, or encoded image bytes) under `spec`. */
export interface DecodeRequest {
  readonly id: number;
  readonly path: string | Uint8Array;
  readonly spec: PreprocessSpec;
}

/** An error as it crosses the thread boundary; `code` is set for a `LesionlabError`. */
export interface WorkerError {
  readonly code?: string;
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/** A worker's message: `ready` once started, then one reply per request, with pixels or an error. */
export type DecodeReply =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly id: number; readonly pixels: Uint8Array }
  | { readonly type: 'failed'; readonly id: number; readonly error: WorkerError };

/** Options the pool passes in `workerData`. */
export interface DecodeWorkerData {
  /** The URL of this module (read by the bootstrap, decode-worker.mjs). */
  readonly module: string;
}

function toWorkerError(error: unknown): WorkerError {
  if (error instanceof Error) {
    const code = isLesionlabError(error) ? error.code : undefined;
    return { code, name: error.name, message: error.message, stack: error.stack };
  }
  return { name: 'Error', message: String(error) };
}

/** `decodeImage(path, spec)`, reading the file with a blocking read: this thread has nothing else to do, and a
 * small file's blocking read costs a tenth of the CPU of an asynchronous one (no thread-pool round trips). */
async function decodeFile(path: string | Uint8Array, spec: PreprocessSpec): Promise<Uint8Array> {
  if (typeof path !== 'string') return decodeImage(path, spec);
  return decodeImage(readImageFileSync(path), spec, path);
}

async function serve(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('decode-worker.ts runs only as a worker thread');
  await loadSharp();
  port.on('message', (request: DecodeRequest) => {
    decodeFile(request.path, request.spec).then(
      (decoded) => {
        // Transfer only a buffer the pixels own whole (a view into a shared pool would detach the pool).
        const owned = decoded.byteLength === decoded.buffer.byteLength ? decoded : decoded.slice();
        const reply: DecodeReply = { type: 'done', id: request.id, pixels: owned };
        port.postMessage(reply, [owned.buffer as ArrayBuffer]);
      },
      (error: unknown) => {
        const reply: DecodeReply = { type: 'failed', id: request.id, error: toWorkerError(error) };
        port.postMessage(reply);
      },
    );
  });
  const ready: DecodeReply = { type: 'ready' };
  port.postMessage(ready);
}

await serve();
