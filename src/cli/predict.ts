import { SingleBar } from 'cli-progress';
import { LesionlabError } from '../core/errors.js';
import {
  type Classifier,
  createClassifier,
  createFormatter,
  IMAGE_EXTENSIONS,
  PREDICT_FORMATS,
  type PredictionFormatter,
  predictFiles,
} from '../node/infer/index.js';
import { assertInputsToClassify, collectPredictInputs, type PredictInputs } from '../node/infer/inputs.js';
import { densityFlag, MODEL_ARG, threadsFlag, ttaChoicesText, ttaFlag } from './flags/serving.js';
import { choiceFlag, defineFlags, flagCommand, intFlag, positionalList } from './flags/table.js';

const flags = defineFlags({
  model: MODEL_ARG,
  input: positionalList('one or more: an image, a folder of images, or a CSV of paths/image ids'),
  format: choiceFlag(PREDICT_FORMATS, { description: PREDICT_FORMATS.join(' | '), default: 'table' }),
  'top-k': intFlag('classes shown per image', { min: 1, default: 3 }),
  tta: ttaFlag(
    `test-time views averaged per image: ${ttaChoicesText("the bundle's own, as it was evaluated")}`,
    { default: 'recipe' },
  ),
  density: densityFlag(
    "bring images denser than the training images down to their pixel density first (the bundle's rule; --no-density to skip)",
  ),
  'batch-size': intFlag('images per batch (bounds memory)', { min: 1, default: 16 }),
  threads: threadsFlag(),
});

/** Exit status when some inputs could not be classified (the others' rows are written). */
export const EXIT_PARTIAL = 3;

const warn = (message: string) => process.stderr.write(`warning: ${message}\n`);

/**
 * What `predict` classifies for its inputs (`predict MODEL a.jpg b.jpg dir/`), in the order given: each one's
 * images, skipped and ignored files. Several inputs are classified as a folder is (an undecodable image is a row
 * with an error, exit 3); a CSV's lesion metadata stays with its own rows (the other rows have none).
 */
export async function collectInputs(targets: readonly string[]): Promise<PredictInputs> {
  const found: PredictInputs[] = [];
  for (const target of targets) found.push(await collectPredictInputs(target));
  const [only] = found;
  if (only !== undefined && found.length === 1) return only;
  const metadata = found.some((f) => f.metadata)
    ? found.flatMap((f) => f.metadata ?? f.paths.map(() => ({})))
    : undefined;
  return {
    paths: found.flatMap((f) => f.paths),
    skipped: found.flatMap((f) => f.skipped),
    ignored: found.flatMap((f) => f.ignored),
    single: false,
    ...(metadata ? { metadata } : {}),
  };
}

/** Lists on stderr every file found but not classified; throws when nothing is left to classify. */
function reportSkipped(target: string, inputs: PredictInputs): void {
  for (const s of inputs.skipped) warn(`skipped ${s.path}: ${s.reason}`);
  const n = inputs.ignored.length;
  if (n > 0) warn(`ignored ${n} non-image file(s), e.g. ${inputs.ignored.slice(0, 3).join(', ')}`);
  assertInputsToClassify(target, inputs);
}

/** Classifies and prints rows; returns how many could not be decoded (each also warned on stderr). */
async function printRows(
  classifier: Classifier,
  inputs: PredictInputs,
  formatter: PredictionFormatter,
  options: {
    batchSize: number;
    onProgress: (done: number) => void;
    metadata?: PredictInputs['metadata'];
  },
): Promise<number> {
  let failed = 0;
  let started = false;
  for await (const result of predictFiles(classifier, inputs.paths, options)) {
    if ('error' in result) {
      if (inputs.single) throw new LesionlabError('E_BAD_IMAGE', result.error);
      failed++;
      warn(result.error);
    }
    const header = started ? '' : formatter.header();
    started = true;
    if (header) process.stdout.write(`${header}\n`);
    process.stdout.write(`${formatter.row(result)}\n`);
  }
  return failed;
}

/** `lesionlab predict <model> <image|folder|csv>...`: top-k classes per image as a table, CSV or JSON lines. */
export const predictCommand = flagCommand(flags, {
  meta: {
    name: 'predict',
    description:
      `Classify images with a model bundle (or a run folder): one or more images, folders or CSVs, in the order given. A folder is walked recursively for ${IMAGE_EXTENSIONS.join(' ')}; ` +
      'other image formats and broken links are listed on stderr as skipped. Exit status: 0 every input classified; ' +
      `2 bad input (one error line; also a single image that cannot be decoded); ${EXIT_PARTIAL} some inputs could not ` +
      'be classified (each named on stderr, undecodable ones also as rows with an error; the other rows are written)',
  },
  async run({ format, tta, threads, density, 'top-k': k, 'batch-size': batchSize, ...a }) {
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0); // output closed early (e.g. `| head`)
      throw error;
    });
    const inputs = await collectInputs(a.input);
    reportSkipped(a.input.join(', '), inputs);
    const classifier = await createClassifier(a.model, { tta, threads, density });
    const formatter = createFormatter(format, classifier.meta.classes, k, {
      views: classifier.views ?? ['identity'],
      density: classifier.densityRule === true,
    });
    const total = inputs.paths.length;
    const bar =
      total > batchSize && process.stderr.isTTY ? new SingleBar({ stream: process.stderr }) : undefined;
    bar?.start(total, 0);
    let failed = 0;
    try {
      failed = await printRows(classifier, inputs, formatter, {
        batchSize,
        metadata: inputs.metadata,
        onProgress: (d) => bar?.update(d),
      });
    } finally {
      bar?.stop();
      await classifier.dispose();
    }
    const missed = failed + inputs.skipped.length;
    if (missed === 0) return;
    warn(
      `${missed} of ${total + inputs.skipped.length} input(s) could not be classified (${failed} undecodable, ${inputs.skipped.length} skipped); exit status ${EXIT_PARTIAL}`,
    );
    process.exitCode = EXIT_PARTIAL;
  },
});
