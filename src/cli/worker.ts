import { defineCommand } from 'citty';
import { createClassifier } from '../node/infer/index.js';
import { DEFAULT_QUEUE, redisConnection, startQueueWorker } from '../queue/index.js';
import { consoleLogger } from './console-logger.js';
import { intArg, untilSignal } from './serve-args.js';

/** `lesionlab worker <model> --redis URL`: classifies queued images until SIGTERM/SIGINT. */
export const workerCommand = defineCommand({
  meta: {
    name: 'worker',
    description:
      'Classify images queued by `lesionlab queue submit` (run any number, on any machine that sees the files); ' +
      "SIGTERM finishes the current job; a killed worker's job is retried by another after --lock-seconds",
  },
  args: {
    model: { type: 'positional', description: 'model bundle folder or training run folder', required: true },
    redis: { type: 'string', description: 'Redis URL', default: 'redis://127.0.0.1:6379' },
    queue: { type: 'string', description: 'queue name', default: DEFAULT_QUEUE },
    threads: { type: 'string', description: 'ONNX Runtime threads (default: automatic)' },
    concurrency: { type: 'string', description: 'jobs at once', default: '1' },
    'lock-seconds': {
      type: 'string',
      description: "job lock; a dead worker's job returns after this",
      default: '30',
    },
    quiet: { type: 'boolean', description: 'no line per job' },
  },
  async run({ args }) {
    const classifier = await createClassifier(args.model, {
      threads: intArg(args.threads, 'threads', 1, 256),
    });
    const worker = await startQueueWorker(
      { connection: redisConnection(args.redis), name: args.queue },
      (paths) => classifier.classifyFiles(paths),
      {
        model: classifier.meta,
        concurrency: intArg(args.concurrency, 'concurrency', 1, 64),
        lockSeconds: intArg(args['lock-seconds'], 'lock-seconds', 1, 3600),
        logger: args.quiet ? { info: () => {}, warn: consoleLogger.warn } : consoleLogger,
      },
    );
    consoleLogger.info(`worker ${process.pid}: ${classifier.meta.name} on queue ${args.queue}`);
    const signal = await untilSignal();
    consoleLogger.info(`${signal}: finishing the current job`);
    await worker.close();
    await classifier.dispose();
  },
});
