import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance } from 'fastify';
import type { BundleMeta } from '../core/bundle/meta.js';
import { expectedMessage } from '../core/errors.js';
import { topK } from '../core/infer/rank.js';
import { type Logger, silentLogger } from '../core/logger.js';
import type { PreprocessSpec } from '../core/preprocess/spec.js';
import { hasMetadata, type LesionMetadata, parseLesionMetadata } from '../core/train/metadata.js';
import { fuseMetadata } from '../core/train/metadata-fusion.js';
import type { Classifier } from '../node/infer/classifier.js';
import type { InferencePool } from '../node/infer/inference-pool.js';
import type { DecodeHints } from '../node/preprocess/decode-image.js';
import type { Decoder } from '../node/preprocess/decode-pool.js';
import { WorkerLostError } from '../node/threads/pool.js';
import { ApiError, toErrorAnswer } from './api-error.js';
import { addBearerAuth, validateToken } from './auth.js';
import { type BatcherOptions, type BatchRunner, MicroBatcher } from './batcher.js';
import {
  allowOnly,
  DEFAULT_REQUEST_TIMEOUT_MS,
  frameworkErrorHandler,
  refuseWhileClosing,
  sendError,
  timeouts,
} from './http-errors.js';
import { checkImage, DEFAULT_IMAGE_LIMITS, IMAGE_CONTENT_TYPES, type ImageLimits } from './image-check.js';
import { logEvent, registerRequestLog, requestId } from './log.js';
import { createServeMetrics, registerMetrics, type ServeMetrics } from './metrics.js';
import { readImageBody } from './request-body.js';
import { Semaphore } from './semaphore.js';
import { registerWebPage, type WebPageOptions } from './static.js';

/** Options of {@link createServer}; every limit has a safe default. */
export interface ServerOptions {
  /** Require `Authorization: Bearer <token>` on /v1/* (health and page stay open); `''` is an error. */
  readonly token?: string;
  /** Largest request body in bytes (default 10 MiB). */
  readonly maxBodyBytes?: number;
  readonly imageLimits?: Partial<ImageLimits>;
  readonly batcher?: Partial<BatcherOptions>;
  /** Longest wait for a prediction, in ms, before a 503 (default 10 s). */
  readonly inferenceTimeoutMs?: number;
  /**
   * Longest time to receive a whole request (headers and body), in ms, before a 408 (default 10 s): a client
   * that stalls mid-body is cut within about a second of this.
   */
  readonly requestTimeoutMs?: number;
  /**
   * Decodes uploads off the event loop (the image cache's worker pool, `startDecoder`); default: decode in this
   * thread. The caller owns it (closes it after the server).
   */
  readonly decoder?: Decoder;
  /**
   * Runs forward passes in worker threads (`startInferencePool`), as many batches at once as it has workers;
   * default: the classifier's session in this thread, one batch at a time. The caller owns it.
   */
  readonly inference?: InferencePool;
  /**
   * With `inference`: a lone image reaching an idle server (nothing else running, waiting or decoding) runs on the
   * classifier's own session in this thread instead of a worker (default false). Workers with one thread each
   * give the most images per second under load; one session on every core answers a lone image faster.
   */
  readonly soloInThread?: boolean;
  /** Images decoded at once; more wait their turn (default 2 in this thread, 2 per decode worker). */
  readonly decodeConcurrency?: number;
  /** Classes listed in `top` (default 3). */
  readonly topK?: number;
  /** Gets one `request` line per answer (request id, route, status, ms): JSON lines with `jsonLogger`. */
  readonly logger?: Logger;
  /** Also serve the web page and the model files it loads. */
  readonly web?: WebPageOptions;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ApiError(503, 'E_TIMEOUT', `prediction took over ${ms} ms; retry later`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Builds (does not start) the HTTP API over `classifier`: `POST /v1/predict` (raw image body or multipart),
 * `GET /v1/model`, `GET /healthz` (liveness), `GET /readyz` (503 while the admission queue is full, a worker pool
 * has no worker left or the server closes), `GET /metrics` (Prometheus) and optionally the web page. Uploads decode in `options.decoder`'s
 * workers; concurrent predictions are micro-batched into one ONNX Runtime call; a full queue answers 503 with
 * Retry-After; bad input gets a 4xx `{ error: { code, message } }`.
 */
export async function createServer(
  classifier: Classifier,
  options: ServerOptions = {},
): Promise<FastifyInstance> {
  const token = validateToken(options.token);
  const log = options.logger ?? silentLogger;
  const { meta } = classifier;
  const itemBytes = meta.preprocess.width * meta.preprocess.height * 3;
  const metrics = createServeMetrics(() => batcher);
  const { inference } = options;
  const inThread: BatchRunner = (b, n) => classifier.classifyPixels(b, n);
  const batcher = new MicroBatcher(
    inference
      ? { run: (b, n) => inference.classifyPixels(b, n), solo: options.soloInThread ? inThread : undefined }
      : inThread,
    itemBytes,
    { lanes: inference?.workers ?? 1, ...options.batcher },
    metrics.observeBatch,
  );
  const app = await createApp(options, log, metrics);
  if (token) addBearerAuth(app, token);
  registerStatusRoutes(app, meta, batcher, options);
  registerPredictRoute(app, classifier, batcher, options);
  for (const [route, method] of ROUTE_METHODS) allowOnly(app, route, [method]);
  if (options.web) await registerWebPage(app, options.web);
  return app;
}

/** The one method each route answers; any other gets a 405. */
const ROUTE_METHODS = [
  ['/healthz', 'GET'],
  ['/readyz', 'GET'],
  ['/metrics', 'GET'],
  ['/v1/model', 'GET'],
  ['/v1/predict', 'POST'],
] as const;

/** Fastify with the body limit, timeouts, request log, metrics, body parsers and error answers; no routes yet. */
async function createApp(
  options: ServerOptions,
  log: Logger,
  metrics: ServeMetrics,
): Promise<FastifyInstance> {
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const app = Fastify({
    bodyLimit: maxBodyBytes,
    logger: false,
    genReqId: requestId,
    ...timeouts(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
    frameworkErrors: frameworkErrorHandler,
    return503OnClosing: false,
  });
  registerRequestLog(app, log);
  registerMetrics(app, metrics);
  // Two files allowed by the parser so that a second one is seen and refused by name, never dropped.
  await app.register(multipart, { limits: { fileSize: maxBodyBytes, files: 2, fields: 8, parts: 10 } });
  app.addContentTypeParser(IMAGE_CONTENT_TYPES as string[], { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
  app.setErrorHandler((error, req, reply) => {
    if (toErrorAnswer(error).status >= 500 && !(error instanceof ApiError)) {
      logEvent(log, 'warn', 'error', { reqId: req.id, stack: (error as Error).stack ?? String(error) });
    }
    // A worker thread died under the request (it is being replaced): the server's fault, and worth a retry.
    return sendError(reply, error instanceof WorkerLostError ? workerLost() : error);
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, new ApiError(404, 'E_NOT_FOUND', `no route ${req.method} ${req.url}`)),
  );
  refuseWhileClosing(app);
  return app;
}

/** The answer to a request whose decode or inference worker died, or to any while no worker is left. */
function workerLost(): ApiError {
  return new ApiError(503, 'E_UNAVAILABLE', 'a worker thread stopped before answering; retry in a moment', {
    retryAfterS: 1,
  });
}

/** The model's identity in every answer. */
function modelIdentity(meta: BundleMeta) {
  return { name: meta.name, version: meta.createdAt, backbone: meta.backbone };
}

/**
 * `GET /healthz` (liveness), `GET /readyz` (503 while the queue is full or a worker pool has no worker left) and
 * `GET /v1/model`.
 */
function registerStatusRoutes(
  app: FastifyInstance,
  meta: BundleMeta,
  batcher: MicroBatcher,
  { decoder, inference }: ServerOptions,
): void {
  app.get('/healthz', async () => ({ status: 'ok', model: meta.name, ...batcher.stats() }));
  app.get('/readyz', async () => {
    const down = decoder?.broken ? 'decode' : inference?.broken ? 'inference' : undefined;
    if (down !== undefined) {
      throw new ApiError(503, 'E_UNAVAILABLE', `not ready: every ${down} worker thread died; retry later`, {
        retryAfterS: 5,
      });
    }
    if (batcher.saturated()) {
      throw new ApiError(503, 'E_BUSY', 'not ready: the prediction queue is full; retry later', {
        retryAfterS: 1,
      });
    }
    return { status: 'ready', model: meta.name, ...batcher.stats() };
  });
  app.get('/v1/model', async () => ({
    ...modelIdentity(meta),
    classes: meta.classes,
    input: { width: meta.preprocess.width, height: meta.preprocess.height, channels: 3 },
    preprocess: meta.preprocess,
    metrics: meta.metrics ?? {},
    weights: meta.weights ?? null,
  }));
}

/** `POST /v1/predict`: check, decode, micro-batch, fuse optional metadata, answer with the ranked classes. */
function registerPredictRoute(
  app: FastifyInstance,
  classifier: Classifier,
  batcher: MicroBatcher,
  options: ServerOptions,
): void {
  const { meta } = classifier;
  const limits: ImageLimits = { ...DEFAULT_IMAGE_LIMITS, ...options.imageLimits };
  const k = options.topK ?? 3;
  const decode = uploadDecoder(classifier, options);
  const timeoutMs = options.inferenceTimeoutMs ?? 10_000;
  const model = modelIdentity(meta);
  app.post('/v1/predict', async (req) => {
    const start = performance.now();
    const body = await readImageBody(req);
    const image = await checkImage(body, limits);
    const slot = batcher.reserve();
    const pixels = await decode(body, { upright: image.upright, maxPixels: limits.maxPixels }).catch(
      (error: Error) => {
        slot.cancel();
        if (error instanceof WorkerLostError) throw error; // not the image's fault: a 503
        throw new ApiError(
          400,
          'E_BAD_IMAGE',
          expectedMessage({
            what: `a decodable ${image.kind} image`,
            where: 'the uploaded image',
            received: `one that fails to decode (${error.message})`,
            fix: 'send the image again or another copy of it',
          }),
        );
      },
    );
    const lesion = requestMetadata(req.query, meta.metadata !== undefined, slot);
    const imageProbs = await withTimeout(slot.submit(pixels), timeoutMs);
    const probs = meta.metadata ? fuseMetadata(meta.metadata, imageProbs, lesion) : imageProbs;
    return {
      model,
      probabilities: Object.fromEntries(meta.classes.map((c, i) => [c, probs[i]])),
      top: topK(probs, meta.classes, k),
      image: { format: image.kind, width: image.width, height: image.height },
      views: classifier.views ?? ['identity'],
      density: classifier.densityRule === true,
      metadata: meta.metadata !== undefined && hasMetadata(lesion),
      latencyMs: Math.round((performance.now() - start) * 100) / 100,
    };
  });
}

/**
 * Decodes an upload in `options.decoder`'s workers (default: in this thread), at most `decodeConcurrency` at
 * once, with the classifier's own preprocessing when it has one (e.g. a density rule resolved), else the bundle's.
 * Decode workers get `hints`: the upright size the upload check read from the header (they read no header again)
 * and the pixel limit, which sharp applies again before decoding; in this thread the classifier decodes as it does
 * for `predict` (reading the header itself).
 */
function uploadDecoder(
  classifier: Classifier,
  options: ServerOptions,
): (body: Uint8Array, hints: DecodeHints) => Promise<Uint8Array> {
  const decoder = options.decoder;
  const decoding = new Semaphore(options.decodeConcurrency ?? 2 * Math.max(1, decoder?.workers ?? 1));
  const spec = (classifier as { preprocess?: PreprocessSpec }).preprocess ?? classifier.meta.preprocess;
  const decode = decoder
    ? (body: Uint8Array, hints: DecodeHints) => decoder.decode(body, spec, hints)
    : (body: Uint8Array) => classifier.decode(body);
  return (body, hints) => decoding.run(() => decode(body, hints));
}

/**
 * Optional lesion metadata of a prediction from the query string (`?age=45&sex=female&localization=face`;
 * never dx_type), used when the bundle declares a metadata branch; a bad value is a 400 naming it.
 */
function requestMetadata(
  query: unknown,
  accepted: boolean,
  slot: { cancel(): void },
): LesionMetadata | undefined {
  const q = (query ?? {}) as Record<string, unknown>;
  const row = Object.fromEntries(
    ['age', 'sex', 'localization'].flatMap((key) =>
      typeof q[key] === 'string' ? [[key, q[key] as string]] : [],
    ),
  );
  if (!accepted || Object.keys(row).length === 0) return undefined;
  try {
    return parseLesionMetadata(row, { strict: true });
  } catch (error) {
    slot.cancel();
    throw new ApiError(400, 'E_INPUT', (error as Error).message);
  }
}
