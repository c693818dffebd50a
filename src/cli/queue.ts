import { resolve } from 'node:path';
import { defineCommand } from 'citty';
import { readModelBundle } from '../node/bundle/read.js';
import { assertInputsToClassify, collectPredictInputs } from '../node/infer/inputs.js';
import { collectResults, DEFAULT_QUEUE, queueStatus, redisConnection, submitImages } from '../queue/index.js';
import { intArg } from './serve-args.js';

const EXIT_PARTIAL = 3;

const target = {
  redis: { type: 'string', description: 'Redis URL', default: 'redis://127.0.0.1:6379' },
  queue: { type: 'string', description: 'queue name (one per archive and model)', default: DEFAULT_QUEUE },
} as const;

const targetOf = (args: { redis: string; queue: string }) => ({
  connection: redisConnection(args.redis),
  name: args.queue,
});

const submit = defineCommand({
  meta: {
    name: 'submit',
    description:
      'Queue images (a folder, an image or a CSV) for workers; re-running skips images done or queued',
  },
  args: {
    model: { type: 'positional', description: 'model bundle folder or training run folder', required: true },
    input: { type: 'positional', description: 'an image, a folder of images, or a CSV', required: true },
    ...target,
    'batch-size': { type: 'string', description: 'images per job', default: '16' },
  },
  async run({ args }) {
    const { meta } = await readModelBundle(args.model);
    const inputs = await collectPredictInputs(args.input);
    for (const s of inputs.skipped) process.stderr.write(`warning: skipped ${s.path}: ${s.reason}\n`);
    assertInputsToClassify(args.input, inputs);
    const batchSize = intArg(args['batch-size'], 'batch-size', 1, 10_000) ?? 16;
    // Keys are absolute paths: workers on other machines (or folders) must see the same files under them.
    const keys = inputs.paths.map((p) => resolve(p));
    const s = await submitImages(targetOf(args), keys, { model: meta.name, batchSize });
    process.stdout.write(
      `queue ${args.queue}: ${s.total} images; ${s.added} queued now in ${s.jobs} jobs, ` +
        `${s.done} already done, ${s.queued} already queued\n`,
    );
  },
});

const status = defineCommand({
  meta: { name: 'status', description: 'Show how many images are done, unreadable and pending' },
  args: { ...target, json: { type: 'boolean', description: 'print one JSON object' } },
  async run({ args }) {
    const s = await queueStatus(targetOf(args));
    if (args.json) {
      process.stdout.write(`${JSON.stringify(s)}\n`);
      return;
    }
    const jobs = Object.entries(s.jobs)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    process.stdout.write(
      `queue ${args.queue} (model ${s.model ?? 'none'}): ${s.done} of ${s.total} done ` +
        `(${s.unreadable} unreadable), ${s.pending} pending; jobs: ${jobs}\n`,
    );
  },
});

const collect = defineCommand({
  meta: {
    name: 'collect',
    description: `Write the results in predict's CSV format (exit ${EXIT_PARTIAL} if some are pending or unreadable)`,
  },
  args: {
    ...target,
    out: { type: 'string', description: 'output file', default: 'predictions.csv' },
    'top-k': { type: 'string', description: 'classes per row', default: '3' },
  },
  async run({ args }) {
    const topK = intArg(args['top-k'], 'top-k', 1, 1000) ?? 3;
    const s = await collectResults(targetOf(args), args.out, { topK });
    process.stdout.write(
      `wrote ${s.rows} rows to ${args.out} (${s.unreadable} unreadable, ${s.pending} pending)\n`,
    );
    if (s.pending > 0 || s.unreadable > 0) process.exitCode = EXIT_PARTIAL;
  },
});

/** `lesionlab queue submit|status|collect`: batch scoring on a BullMQ queue in Redis. */
export const queueCommand = defineCommand({
  meta: {
    name: 'queue',
    description: 'Batch scoring on a Redis queue: submit images, watch status, collect CSV',
  },
  subCommands: { submit, status, collect },
});
