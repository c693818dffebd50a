import type { LesionlabError } from '../core/errors.js';
import { createClassifier } from '../node/infer/index.js';
import { redisConnection, startQueueWorker } from '../queue/index.js';
import { consoleLogger } from './console-logger.js';
import { queueFlags } from './flags/queue.js';
import { MODEL_ARG, threadsFlag } from './flags/serving.js';
import { booleanFlag, defineFlags, flagCommand, intFlag } from './flags/table.js';
import { untilSignal } from './serve-args.js';

const flags = defineFlags({
  model: MODEL_ARG,
  ...queueFlags('queue name'),
  threads: threadsFlag(),
  concurrency: intFlag('jobs at once', { min: 1, max: 64, default: 1 }),
  'lock-seconds': intFlag("job lock; a dead worker's job returns after this", {
    min: 1,
    max: 3600,
    default: 30,
  }),
  quiet: booleanFlag({ description: 'no line per job' }),
});

/** `lesionlab worker <model> --redis URL`: classifies queued images until SIGTERM/SIGINT. */
export const workerCommand = flagCommand(flags, {
  meta: {
    name: 'worker',
    description:
      'Classify images queued by `lesionlab queue submit` (run any number, on any machine that sees the files); ' +
      "SIGTERM finishes the current job; a killed worker's job is retried by another after --lock-seconds; " +
      'a job for another model stops the worker (exit 2) and stays queued',
  },
  async run(a) {
    const classifier = await createClassifier(a.model, { threads: a.threads });
    let onRefuse: (error: LesionlabError) => void = () => {};
    const refused = new Promise<LesionlabError>((resolve) => {
      onRefuse = resolve;
    });
    try {
      const worker = await startQueueWorker(
        { connection: redisConnection(a.redis), name: a.queue },
        (paths) => classifier.classifyFiles(paths),
        {
          model: classifier.meta,
          concurrency: a.concurrency,
          lockSeconds: a['lock-seconds'],
          logger: a.quiet ? { info: () => {}, warn: consoleLogger.warn } : consoleLogger,
          onRefuse: (error) => onRefuse(error),
        },
      );
      consoleLogger.info(`worker ${process.pid}: ${classifier.meta.name} on queue ${a.queue}`);
      // A job for another model stops the worker (its jobs stay queued): exit 2 with that error's line.
      const stop = await Promise.race([untilSignal(), refused]);
      if (typeof stop === 'string') consoleLogger.info(`${stop}: finishing the current job`);
      await worker.close();
      if (typeof stop !== 'string') throw stop;
    } finally {
      await classifier.dispose();
    }
  },
});
