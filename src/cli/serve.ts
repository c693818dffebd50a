import sharp from 'sharp';
import { createClassifier, TTA_CHOICES } from '../node/infer/index.js';
import { startInferencePool } from '../node/infer/inference-pool.js';
import { startDecoder } from '../node/preprocess/decode-pool.js';
import { createServer, jsonLogger } from '../serve/index.js';
import { densityFlag, LISTEN_FLAGS, MODEL_ARG, threadsFlag, ttaFlag } from './flags/serving.js';
import { booleanFlag, defineFlags, flagCommand, intFlag, textFlag } from './flags/table.js';
import { listenAndAnnounce, tokenArg, untilSignal } from './serve-args.js';

const flags = defineFlags({
  model: MODEL_ARG,
  ...LISTEN_FLAGS,
  token: textFlag({
    description: 'require "Authorization: Bearer <token>" on /v1/* (default: $LESIONLAB_TOKEN)',
  }),
  threads: threadsFlag(),
  'max-batch': intFlag('most images per micro-batch', { min: 1, max: 256, default: 8 }),
  'max-wait-ms': intFlag('longest wait for a batch to fill, ms', { min: 0, max: 10_000, default: 5 }),
  'max-queue': intFlag('predictions admitted (decoding or waiting) before 503 + Retry-After', {
    min: 1,
    max: 100_000,
    default: 64,
  }),
  'decode-workers': intFlag('threads decoding uploads (0 = on the event loop)', {
    min: 0,
    max: 64,
    default: 2,
  }),
  'inference-workers': intFlag(
    'worker threads running forward passes, each with its own ONNX Runtime session of --threads threads (default 1); 0 = one session in the event-loop thread',
    { min: 0, max: 64, default: 0 },
  ),
  solo: booleanFlag({
    description:
      'with --inference-workers: a lone image on an idle server runs in one ONNX Runtime session on every core, in the server thread, instead of a single-thread worker (--no-solo: workers only)',
    default: true,
  }),
  'max-body-mb': intFlag('largest request body in MiB', { min: 1, max: 1024, default: 10 }),
  tta: ttaFlag(`test-time views: ${TTA_CHOICES.join(' | ')} (default recipe: the bundle's own)`, {
    default: 'recipe',
    code: 'E_USAGE',
  }),
  density: densityFlag("apply the bundle's pixel-density rule to uploads (--no-density to skip)"),
  'request-timeout': intFlag('seconds to receive a whole request before a 408', {
    min: 1,
    max: 3600,
    default: 10,
  }),
});

/** `lesionlab serve <model>`: the HTTP prediction API on one model bundle. */
export const serveCommand = flagCommand(flags, {
  meta: {
    name: 'serve',
    description:
      'Serve a model bundle over HTTP (POST /v1/predict, GET /v1/model, /healthz, /readyz, /metrics); ' +
      'logs are JSON lines; SIGTERM finishes requests in flight and refuses new ones',
  },
  async run(a) {
    const token = tokenArg(a.token);
    const log = jsonLogger((line) => process.stdout.write(line));
    sharp.cache(false); // a long-running server gains nothing from libvips' operation cache but memory
    const workers = a['inference-workers'];
    const classifier = await createClassifier(a.model, {
      // with workers, --threads is theirs; this session (lone images, --solo) takes every core
      threads: workers > 0 ? undefined : a.threads,
      tta: a.tta,
      density: a.density,
      lazySession: workers > 0 && !a.solo, // the workers run every forward pass: no session here
    });
    const decoder = await startDecoder({ workers: a['decode-workers'], logger: log });
    const inference =
      workers > 0
        ? await startInferencePool({
            bundle: a.model,
            workers,
            threadsPerWorker: a.threads ?? 1,
            tta: a.tta,
            density: a.density,
            logger: log,
          })
        : undefined;
    const app = await createServer(classifier, {
      token,
      logger: log,
      decoder,
      inference,
      soloInThread: a.solo,
      batcher: {
        maxBatch: a['max-batch'],
        maxWaitMs: a['max-wait-ms'],
        maxQueue: a['max-queue'],
      },
      maxBodyBytes: a['max-body-mb'] * 1024 * 1024,
      requestTimeoutMs: a['request-timeout'] * 1000,
    });
    await listenAndAnnounce(
      app,
      log,
      a,
      token,
      (url) =>
        `serving ${classifier.meta.name} at ${url} (POST /v1/predict${token ? ', bearer token required' : ''}; ${decoder.workers} decode workers${inference ? `, ${inference.workers} inference workers${a.solo ? ' + a session on every core for lone images' : ''}` : ''})`,
    );
    const signal = await untilSignal();
    log.info(`${signal}: finishing requests in flight, refusing new ones (a second signal exits at once)`);
    void untilSignal().then(() => process.exit(130));
    await app.close();
    await decoder.close();
    await inference?.close();
    await classifier.dispose();
    log.info('stopped');
  },
});
