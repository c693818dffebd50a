import { FORMAT_NAMES } from '../../core/data/options.js';
import type { Logger } from '../../core/logger.js';
import type { LoadDatasetOptions } from '../../node/data/load-dataset.js';
import { booleanFlag, defineFlags, type FlagValues, positional, textFlag } from './table.js';

/** The dataset flags of `inspect`, `split` and `prepare`: where the data is, its layout and how hard to check it. */
export const DATASET_FLAGS = {
  root: positional('Dataset folder (or its metadata CSV)'),
  format: {
    kind: 'enum',
    choices: FORMAT_NAMES,
    default: 'auto',
    description: 'Dataset layout',
  },
  metadata: textFlag({ description: 'Metadata table, when not in the root folder' }),
  images: textFlag({ description: 'Folder to search for images (default: the root)' }),
  'image-column': textFlag({ description: 'Image column name (generic CSV, ISIC one-hot)' }),
  'label-column': textFlag({ description: 'Label column name (generic CSV)' }),
  'group-column': textFlag({
    description: 'Group (lesion/patient) column name (generic CSV, ISIC one-hot, HAM10000)',
  }),
  'check-images': booleanFlag({
    default: true,
    description: 'Check each image header (--no-check-images skips)',
  }),
  decode: booleanFlag({
    default: false,
    description: 'Decode every image in full (finds truncated files a header check passes; slower)',
  }),
  strict: booleanFlag({ default: false, description: 'Fail on any data issue instead of skipping bad rows' }),
} as const;

const datasetFlags = defineFlags(DATASET_FLAGS);

/** Turns parsed dataset flags into `loadDataset` options. */
export function datasetOptions(args: Readonly<Record<string, unknown>>, logger: Logger): LoadDatasetOptions {
  const flags: FlagValues<typeof DATASET_FLAGS> = datasetFlags.parse(args);
  const columns = {
    image: flags['image-column'],
    label: flags['label-column'],
    group: flags['group-column'],
  };
  return {
    format: flags.format,
    metadata: flags.metadata,
    images: flags.images,
    columns: Object.fromEntries(Object.entries(columns).filter(([, v]) => v !== undefined)),
    checkImages: flags['check-images'] === false ? false : flags.decode === true ? 'decode' : true,
    strict: flags.strict === true,
    logger,
  };
}
