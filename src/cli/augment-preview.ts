import { readFile } from 'node:fs/promises';
import { defineCommand } from 'citty';
import { LesionlabError } from '../core/errors.js';
import { parseAugmentConfig } from '../core/preprocess/augment-config.js';
import { parsePreprocessSpec } from '../core/preprocess/spec-schema.js';
import { writeAugmentPreview } from '../node/preprocess/augment-preview.js';
import { consoleLogger } from './console-logger.js';
import { preprocessArgs } from './prepare.js';

/** `lesionlab augment-preview <image-or-folder> --out grid.png`: a contact sheet of training augmentations. */
export const augmentPreviewCommand = defineCommand({
  meta: { name: 'augment-preview', description: 'Write a PNG grid of augmented images to look at' },
  args: {
    input: {
      type: 'positional',
      required: true,
      description: 'An image, or a folder of images (e.g. a dataset root)',
    },
    out: { type: 'string', required: true, description: 'PNG file to write' },
    n: { type: 'string', default: '16', description: 'Number of augmented tiles' },
    seed: { type: 'string', default: '1', description: 'Random seed' },
    size: { type: 'string', default: '224', description: 'Tile size in pixels' },
    ...preprocessArgs,
    config: {
      type: 'string',
      description: 'JSON file with augmentation settings (default: the built-in defaults)',
    },
  },
  async run({ args }) {
    const spec = parsePreprocessSpec(
      {
        width: Number(args.size),
        height: Number(args.size),
        resize: args.resize,
        colorConstancy: args['color-constancy'],
      },
      'options:',
    );
    const augment = parseAugmentConfig(
      args.config === undefined ? {} : await readJson(args.config),
      args.config,
    );
    const count = positiveInt(args.n, '--n');
    const seed = positiveInt(args.seed, '--seed', 0);
    const result = await writeAugmentPreview({
      input: args.input,
      out: args.out,
      count,
      seed,
      spec,
      augment,
    });
    consoleLogger.info(
      `wrote ${result.out} (${result.width}x${result.height}) from ${result.sources.length} image(s), seed ${seed}`,
    );
  },
});

function positiveInt(text: string, flag: string, min = 1): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new LesionlabError('E_CONFIG', `${flag}: expected an integer >= ${min}, got "${text}"`);
  }
  return value;
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    throw new LesionlabError('E_MISSING_FILE', `${path}: cannot read augmentation config`, { cause: error });
  });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new LesionlabError('E_CONFIG', `${path}: not valid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
}
