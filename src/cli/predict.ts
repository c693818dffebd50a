import { defineCommand } from 'citty';
import { SingleBar } from 'cli-progress';
import { LesionlabError } from '../core/errors.js';
import {
  createClassifier,
  createFormatter,
  PREDICT_FORMATS,
  type PredictFormat,
  predictFiles,
  resolvePredictInputs,
  TTA_MODES,
  type TtaMode,
} from '../node/infer/index.js';

function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new LesionlabError('E_CONFIG', `--${name}: expected a positive integer, got "${value}"`);
  }
  return n;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], name: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new LesionlabError('E_CONFIG', `--${name}: "${value}" is not one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** `lesionlab predict <model> <image|folder|csv>`: top-k classes per image as a table, CSV or JSON lines. */
export const predictCommand = defineCommand({
  meta: { name: 'predict', description: 'Classify images with a model bundle (or a run folder)' },
  args: {
    model: { type: 'positional', description: 'model bundle folder or training run folder', required: true },
    input: {
      type: 'positional',
      description: 'an image, a folder of images, or a CSV of paths/image ids',
      required: true,
    },
    format: { type: 'string', description: 'table | csv | jsonl', default: 'table' },
    'top-k': { type: 'string', description: 'classes shown per image', default: '3' },
    tta: { type: 'string', description: 'test-time augmentation: none | hflip | flips', default: 'none' },
    'batch-size': { type: 'string', description: 'images per batch (bounds memory)', default: '16' },
    threads: { type: 'string', description: 'ONNX Runtime threads (default: automatic)' },
  },
  async run({ args }) {
    const format = oneOf<PredictFormat>(args.format, PREDICT_FORMATS, 'format');
    const tta = oneOf<TtaMode>(args.tta, TTA_MODES, 'tta');
    const k = positiveInt(args['top-k'], 'top-k');
    const batchSize = positiveInt(args['batch-size'], 'batch-size');
    const threads = args.threads === undefined ? undefined : positiveInt(args.threads, 'threads');
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0); // output closed early (e.g. `| head`)
      throw error;
    });
    const paths = await resolvePredictInputs(args.input);
    const classifier = await createClassifier(args.model, { tta, threads });
    const formatter = createFormatter(format, classifier.meta.classes, k);
    const bar =
      paths.length > batchSize && process.stderr.isTTY
        ? new SingleBar({ stream: process.stderr })
        : undefined;
    bar?.start(paths.length, 0);
    let failed = 0;
    try {
      const header = formatter.header();
      if (header) process.stdout.write(`${header}\n`);
      for await (const result of predictFiles(classifier, paths, {
        batchSize,
        onProgress: (d) => bar?.update(d),
      })) {
        if ('error' in result) failed++;
        process.stdout.write(`${formatter.row(result)}\n`);
      }
    } finally {
      bar?.stop();
      await classifier.dispose();
    }
    if (failed > 0)
      process.stderr.write(`warning: ${failed} of ${paths.length} image(s) could not be read (skipped)\n`);
  },
});
