import type { AddressInfo } from 'node:net';
import { defineCommand } from 'citty';
import sharp from 'sharp';
import { LesionlabError } from '../core/errors.js';
import { createClassifier, TTA_CHOICES, type TtaChoice } from '../node/infer/index.js';

function ttaArg(value: string): TtaChoice {
  if (!(TTA_CHOICES as readonly string[]).includes(value))
    throw new LesionlabError('E_USAGE', `--tta: "${value}" is not one of ${TTA_CHOICES.join(', ')}`);
  return value as TtaChoice;
}

import { startDecoder } from '../node/preprocess/decode-pool.js';
import { createServer, jsonLogger } from '../serve/index.js';
import { announceListening, intArg, tokenArg, untilSignal } from './serve-args.js';

/** `lesionlab serve <model>`: the HTTP prediction API on one model bundle. */
export const serveCommand = defineCommand({
  meta: {
    name: 'serve',
    description:
      'Serve a model bundle over HTTP (POST /v1/predict, GET /v1/model, /healthz, /readyz, /metrics); ' +
      'logs are JSON lines; SIGTERM finishes requests in flight and refuses new ones',
  },
  args: {
    model: { type: 'positional', description: 'model bundle folder or training run folder', required: true },
    port: { type: 'string', description: 'TCP port (0 picks a free one)', default: '8080' },
    host: { type: 'string', description: 'address to bind', default: '127.0.0.1' },
    token: {
      type: 'string',
      description: 'require "Authorization: Bearer <token>" on /v1/* (default: $LESIONLAB_TOKEN)',
    },
    threads: { type: 'string', description: 'ONNX Runtime threads (default: automatic)' },
    'max-batch': { type: 'string', description: 'most images per micro-batch', default: '8' },
    'max-wait-ms': { type: 'string', description: 'longest wait for a batch to fill, ms', default: '5' },
    'max-queue': {
      type: 'string',
      description: 'predictions admitted (decoding or waiting) before 503 + Retry-After',
      default: '64',
    },
    'decode-workers': {
      type: 'string',
      description: 'threads decoding uploads (0 = on the event loop)',
      default: '2',
    },
    'max-body-mb': { type: 'string', description: 'largest request body in MiB', default: '10' },
    tta: {
      type: 'string',
      description: `test-time views: ${TTA_CHOICES.join(' | ')} (default recipe: the bundle's own)`,
      default: 'recipe',
    },
    density: {
      type: 'boolean',
      description: "apply the bundle's pixel-density rule to uploads (--no-density to skip)",
      default: true,
    },
    'request-timeout': {
      type: 'string',
      description: 'seconds to receive a whole request before a 408',
      default: '10',
    },
  },
  async run({ args }) {
    const port = intArg(args.port, 'port', 0, 65535) ?? 8080;
    const token = tokenArg(args.token);
    const requestTimeoutS = intArg(args['request-timeout'], 'request-timeout', 1, 3600) ?? 10;
    const log = jsonLogger((line) => process.stdout.write(line));
    sharp.cache(false); // a long-running server gains nothing from libvips' operation cache but memory
    const classifier = await createClassifier(args.model, {
      threads: intArg(args.threads, 'threads', 1, 256),
      tta: ttaArg(args.tta),
      density: args.density !== false,
    });
    const decoder = await startDecoder({
      workers: intArg(args['decode-workers'], 'decode-workers', 0, 64) ?? 2,
      logger: log,
    });
    const app = await createServer(classifier, {
      token,
      logger: log,
      decoder,
      batcher: {
        maxBatch: intArg(args['max-batch'], 'max-batch', 1, 256),
        maxWaitMs: intArg(args['max-wait-ms'], 'max-wait-ms', 0, 10_000),
        maxQueue: intArg(args['max-queue'], 'max-queue', 1, 100_000),
      },
      maxBodyBytes: (intArg(args['max-body-mb'], 'max-body-mb', 1, 1024) ?? 10) * 1024 * 1024,
      requestTimeoutMs: requestTimeoutS * 1000,
    });
    await app.listen({ port, host: args.host });
    const bound = (app.server.address() as AddressInfo).port;
    announceListening(
      log,
      args.host,
      bound,
      token,
      (url) =>
        `serving ${classifier.meta.name} at ${url} (POST /v1/predict${token ? ', bearer token required' : ''}; ${decoder.workers} decode workers)`,
    );
    const signal = await untilSignal();
    log.info(`${signal}: finishing requests in flight, refusing new ones (a second signal exits at once)`);
    void untilSignal().then(() => process.exit(130));
    await app.close();
    await decoder.close();
    await classifier.dispose();
    log.info('stopped');
  },
});
