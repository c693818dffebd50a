import type { AddressInfo } from 'node:net';
import { defineCommand } from 'citty';
import sharp from 'sharp';
import { createClassifier } from '../node/infer/index.js';
import { createServer } from '../serve/index.js';
import { consoleLogger } from './console-logger.js';
import { announceListening, intArg, tokenArg, untilSignal } from './serve-args.js';

/** `lesionlab serve <model>`: the HTTP prediction API on one model bundle. */
export const serveCommand = defineCommand({
  meta: {
    name: 'serve',
    description: 'Serve a model bundle over HTTP (POST /v1/predict, GET /v1/model, GET /healthz)',
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
    'max-body-mb': { type: 'string', description: 'largest request body in MiB', default: '10' },
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
    sharp.cache(false); // a long-running server gains nothing from libvips' operation cache but memory
    const classifier = await createClassifier(args.model, {
      threads: intArg(args.threads, 'threads', 1, 256),
    });
    const app = await createServer(classifier, {
      token,
      logger: consoleLogger,
      batcher: { maxBatch: intArg(args['max-batch'], 'max-batch', 1, 256) },
      maxBodyBytes: (intArg(args['max-body-mb'], 'max-body-mb', 1, 1024) ?? 10) * 1024 * 1024,
      requestTimeoutMs: requestTimeoutS * 1000,
    });
    await app.listen({ port, host: args.host });
    const bound = (app.server.address() as AddressInfo).port;
    announceListening(
      consoleLogger,
      args.host,
      bound,
      token,
      (url) =>
        `serving ${classifier.meta.name} at ${url} (POST /v1/predict${token ? ', bearer token required' : ''})`,
    );
    await untilSignal();
    await app.close();
    await classifier.dispose();
  },
});
