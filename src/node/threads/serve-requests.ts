// The worker side of a ThreadPool (pool.ts): answer each request by id, moving the answer's buffers back,
// and send errors as plain data (code, message, stack).
import { parentPort } from 'node:worker_threads';
import { isLesionlabError } from '../../core/errors.js';

/** An error as it crosses the thread boundary; `code` is set for a `LesionlabError`. */
export interface WorkerError {
  readonly code?: string;
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/** A worker's message: `ready` once started, then one reply per request, with a value or an error. */
export type WorkerReply<Res> =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly id: number; readonly value: Res }
  | { readonly type: 'failed'; readonly id: number; readonly error: WorkerError };

/** How a worker answers one request: the value, and the buffers to move (not copy) back with it. */
export type RequestHandler<Req, Res> = (
  request: Req,
) => Promise<{ readonly value: Res; readonly transfer?: readonly ArrayBuffer[] }>;

function toWorkerError(error: unknown): WorkerError {
  if (error instanceof Error) {
    const code = isLesionlabError(error) ? error.code : undefined;
    return { code, name: error.name, message: error.message, stack: error.stack };
  }
  return { name: 'Error', message: String(error) };
}

/**
 * Answers the pool's requests with `handle` (requests may overlap) and then posts `ready`; call it once, at the
 * end of the worker module, after the worker's own set-up (e.g. loading a model) is done.
 */
export function serveRequests<Req, Res>(handle: RequestHandler<Req, Res>): void {
  const port = parentPort;
  if (port === null) throw new Error('serveRequests runs only in a worker thread');
  port.on('message', ({ id, request }: { id: number; request: Req }) => {
    handle(request).then(
      ({ value, transfer = [] }) => {
        const reply: WorkerReply<Res> = { type: 'done', id, value };
        port.postMessage(reply, transfer);
      },
      (error: unknown) => {
        const reply: WorkerReply<Res> = { type: 'failed', id, error: toWorkerError(error) };
        port.postMessage(reply);
      },
    );
  });
  const ready: WorkerReply<Res> = { type: 'ready' };
  port.postMessage(ready);
}

/**
 * `pixels` when they own their whole buffer, else a copy: what may be moved to another thread without detaching a
 * larger (pooled or caller's) buffer. Both directions use it (a worker's answers, the inference pool's batches).
 */
export function ownedPixels<T extends Uint8Array | Float32Array>(pixels: T): T {
  return (pixels.byteLength === pixels.buffer.byteLength ? pixels : pixels.slice()) as T;
}
