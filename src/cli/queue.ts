import { resolve } from 'node:path';
import { defineCommand } from 'citty';
import { readModelBundle } from '../node/bundle/read.js';
import { assertInputsToClassify, collectPredictInputs } from '../node/infer/inputs.js';
import { collectResults, queueStatus, redisConnection, submitImages } from '../queue/index.js';
import { queueFlags } from './flags/queue.js';
import { MODEL_ARG } from './flags/serving.js';
import { booleanFlag, defineFlags, flagCommand, intFlag, positional, textFlag } from './flags/table.js';

const EXIT_PARTIAL = 3;

const target = queueFlags('queue name (one per archive and model)');

const submitFlags = defineFlags({
  model: MODEL_ARG,
  input: positional('an image, a folder of images, or a CSV'),
  ...target,
  'batch-size': intFlag('images per job', { min: 1, max: 10_000, default: 16 }),
});

const statusFlags = defineFlags({ ...target, json: booleanFlag({ description: 'print one JSON object' }) });

const collectFlags = defineFlags({
  ...target,
  out: textFlag({ description: 'output file', default: 'predictions.csv' }),
  'top-k': intFlag('classes per row', { min: 1, max: 1000, default: 3 }),
});

const targetOf = (args: { redis: string; queue: string }) => ({
  connection: redisConnection(args.redis),
  name: args.queue,
});

const submit = flagCommand(submitFlags, {
  meta: {
    name: 'submit',
    description:
      'Queue images (a folder, an image or a CSV) for workers; re-running skips images done or queued',
  },
  async run(a) {
    const { meta } = await readModelBundle(a.model);
    const inputs = await collectPredictInputs(a.input);
    for (const s of inputs.skipped) process.stderr.write(`warning: skipped ${s.path}: ${s.reason}\n`);
    assertInputsToClassify(a.input, inputs);
    const batchSize = a['batch-size'];
    // Keys are absolute paths: workers on other machines (or folders) must see the same files under them.
    const keys = inputs.paths.map((p) => resolve(p));
    const s = await submitImages(targetOf(a), keys, {
      model: meta.name,
      classes: meta.classes,
      batchSize,
    });
    process.stdout.write(
      `queue ${a.queue}: ${s.total} images; ${s.added} queued now in ${s.jobs} jobs, ` +
        `${s.done} already done, ${s.queued} already queued\n`,
    );
  },
});

const status = flagCommand(statusFlags, {
  meta: { name: 'status', description: 'Show how many images are done, unreadable and pending' },
  async run(a) {
    const s = await queueStatus(targetOf(a));
    if (a.json) {
      process.stdout.write(`${JSON.stringify(s)}\n`);
      return;
    }
    const jobs = Object.entries(s.jobs)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    process.stdout.write(
      `queue ${a.queue} (model ${s.model ?? 'none'}): ${s.done} of ${s.total} done ` +
        `(${s.unreadable} unreadable), ${s.pending} pending; jobs: ${jobs}\n`,
    );
  },
});

const collect = flagCommand(collectFlags, {
  meta: {
    name: 'collect',
    description: `Write the results in predict's CSV format (exit ${EXIT_PARTIAL} if some are pending or unreadable)`,
  },
  async run(a) {
    const s = await collectResults(targetOf(a), a.out, { topK: a['top-k'] });
    process.stdout.write(
      `wrote ${s.rows} rows to ${a.out} (${s.unreadable} unreadable, ${s.pending} pending)\n`,
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
