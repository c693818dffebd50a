import { parseAugmentConfig } from '../core/preprocess/augment-config.js';
import { parsePreprocessSpec } from '../core/preprocess/spec-schema.js';
import { writeAugmentPreview } from '../node/preprocess/augment-preview.js';
import { consoleLogger } from './console-logger.js';
import { readJsonFlag } from './flags/json-file.js';
import { PREPROCESS_FLAGS, sideFlag } from './flags/preprocess.js';
import { defineFlags, flagCommand, intFlag, positional, textFlag } from './flags/table.js';

const flags = defineFlags({
  input: positional('An image, or a folder of images (e.g. a dataset root)'),
  out: textFlag({ required: true, description: 'PNG file to write' }),
  n: intFlag('Number of augmented tiles', { min: 1, default: 16 }),
  seed: intFlag('Random seed', { min: 0, default: 1 }),
  size: sideFlag('Tile size in pixels', 224),
  ...PREPROCESS_FLAGS,
  config: textFlag({ description: 'JSON file with augmentation settings (default: the built-in defaults)' }),
});

/** `lesionlab augment-preview <image-or-folder> --out grid.png`: a contact sheet of training augmentations. */
export const augmentPreviewCommand = flagCommand(flags, {
  meta: { name: 'augment-preview', description: 'Write a PNG grid of augmented images to look at' },
  async run(a) {
    const spec = parsePreprocessSpec(
      { width: a.size, height: a.size, resize: a.resize, colorConstancy: a['color-constancy'] },
      'options:',
    );
    const augment = parseAugmentConfig(
      a.config === undefined ? {} : await readJsonFlag(a.config, '--config'),
      a.config,
    );
    const result = await writeAugmentPreview({
      input: a.input,
      out: a.out,
      count: a.n,
      seed: a.seed,
      spec,
      augment,
    });
    consoleLogger.info(
      `wrote ${result.out} (${result.width}x${result.height}) from ${result.sources.length} image(s), seed ${a.seed}`,
    );
  },
});
