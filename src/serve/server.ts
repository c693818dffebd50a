import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { type Logger, silentLogger } from '../core/logger.js';
import type { Classifier } from '../node/infer/classifier.js';
import { topK } from '../node/infer/predict.js';
import { ApiError, toErrorAnswer } from './api-error.js';
import { bearerCheck } from './auth.js';
import { type BatcherOptions, DEFAULT_BATCHER_OPTIONS, MicroBatcher } from './batcher.js';
import { checkImage, DEFAULT_IMAGE_LIMITS, IMAGE_CONTENT_TYPES, type ImageLimits } from './image-check.js';
import { Semaphore } from './semaphore.js';
import { registerWebPage, type WebPageOptions } from './static.js';

/** Options of {@link createServer}; every limit has a safe default. */
export interface ServerOptions {
  /** Require `Authorization: Bearer <token>` on /v1/* (health and page stay open). */
  readonly token?: string;
  /** Largest request body in bytes (default 10 MiB). */
  readonly maxBodyBytes?: number;
  readonly imageLimits?: Partial<ImageLimits>;
  readonly batcher?: Partial<BatcherOptions>;
  /** Longest wait for a prediction, in ms, before a 503 (default 10 s). */
  readonly inferenceTimeoutMs?: number;
  /** Longest time to receive a whole request, in ms (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Images decoded at once; more wait their turn (default 2: decoding shares the cores with inference). */
  readonly decodeConcurrency?: number;
  /** Classes listed in `top` (default 3). */
  readonly topK?: number;
  readonly logger?: Logger;
  /** Also serve the web page and the model files it loads. */
  readonly web?: WebPageOptions;
}

async function readImageBody(req: FastifyRequest): Promise<Uint8Array> {
  if (req.isMultipart()) {
    const file = await req.file();
    if (!file)
      throw new ApiError(400, 'E_INPUT', 'multipart body has no file part; send the image as a file field');
    return file.toBuffer();
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type && !IMAGE_CONTENT_TYPES.includes(type)) {
    throw new ApiError(
      415,
      'E_UNSUPPORTED_MEDIA',
      `content type "${type}" is not accepted; send ${IMAGE_CONTENT_TYPES.join(', ')} or multipart/form-data`,
    );
  }
  if (!Buffer.isBuffer(req.body))
    throw new ApiError(400, 'E_INPUT', 'empty body; send a JPEG, PNG or WebP image');
  return req.body;
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
 * `GET /v1/model`, `GET /healthz`, and optionally the web page. Concurrent predictions are micro-batched
 * into one ONNX Runtime call; bad input gets a 4xx `{ error: { code, message } }`.
 */
export async function createServer(
  classifier: Classifier,
  options: ServerOptions = {},
): Promise<FastifyInstance> {
  const log = options.logger ?? silentLogger;
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const limits: ImageLimits = { ...DEFAULT_IMAGE_LIMITS, ...options.imageLimits };
  const { meta } = classifier;
  const itemBytes = meta.preprocess.width * meta.preprocess.height * 3;
  const batcher = new MicroBatcher((b, n) => classifier.classifyPixels(b, n), itemBytes, {
    ...DEFAULT_BATCHER_OPTIONS,
    ...options.batcher,
  });
  const app = Fastify({
    bodyLimit: maxBodyBytes,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    logger: false,
  });
  await app.register(multipart, { limits: { fileSize: maxBodyBytes, files: 1, fields: 8, parts: 9 } });
  app.addContentTypeParser(IMAGE_CONTENT_TYPES as string[], { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
  app.setErrorHandler((error, _req, reply) => {
    const answer = toErrorAnswer(error);
    if (answer.status >= 500) log.warn(`serve: ${(error as Error).stack ?? String(error)}`);
    return reply.status(answer.status).send(answer.body);
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ error: { code: 'E_NOT_FOUND', message: `no route ${req.method} ${req.url}` } }),
  );
  if (options.token) {
    const check = bearerCheck(options.token);
    app.addHook('onRequest', async (req) => {
      if (req.url.startsWith('/v1/')) check(req.headers.authorization);
    });
  }
  const k = options.topK ?? 3;
  const decoding = new Semaphore(options.decodeConcurrency ?? 2);
  const timeoutMs = options.inferenceTimeoutMs ?? 10_000;
  const model = { name: meta.name, version: meta.createdAt, backbone: meta.backbone };
  app.get('/healthz', async () => ({ status: 'ok', model: meta.name, ...batcher.stats() }));
  app.get('/v1/model', async () => ({
    ...model,
    classes: meta.classes,
    input: { width: meta.preprocess.width, height: meta.preprocess.height, channels: 3 },
    preprocess: meta.preprocess,
    metrics: meta.metrics ?? {},
  }));
  app.post('/v1/predict', async (req) => {
    const start = performance.now();
    const body = await readImageBody(req);
    const image = await checkImage(body, limits);
    const pixels = await decoding
      .run(() => classifier.decode(body))
      .catch((error: Error) => {
        throw new ApiError(400, 'E_BAD_IMAGE', `cannot decode the ${image.kind} image: ${error.message}`);
      });
    const probs = await withTimeout(batcher.submit(pixels), timeoutMs);
    return {
      model,
      probabilities: Object.fromEntries(meta.classes.map((c, i) => [c, probs[i]])),
      top: topK(probs, meta.classes, k),
      image: { format: image.kind, width: image.width, height: image.height },
      latencyMs: Math.round((performance.now() - start) * 100) / 100,
    };
  });
  if (options.web) await registerWebPage(app, options.web);
  return app;
}
