import { z } from 'zod';
import { assertSplittable, GROUP_BY, kfoldByGroup, splitByGroup } from '../core/data/split.js';
import { buildSplitFile } from '../core/data/split-schema.js';
import { formatParts, summarizeParts } from '../core/data/summary.js';
import { loadDataset } from '../node/data/load-dataset.js';
import { writeSplitFile } from '../node/data/split-file.js';
import { consoleLogger } from './console-logger.js';
import { DATASET_FLAGS, datasetOptions } from './flags/dataset.js';
import { defineFlags, flagCommand, intFlag, textFlag } from './flags/table.js';

const fraction = (description: string, fallback: string) =>
  textFlag({ description, default: fallback, schema: z.coerce.number().min(0).max(0.9) });

const flags = defineFlags({
  ...DATASET_FLAGS,
  out: textFlag({ required: true, description: 'Split file to write (JSON)' }),
  val: fraction('Validation fraction of images', '0.15'),
  test: fraction('Test fraction of images', '0.15'),
  folds: intFlag('K-fold instead of hold-out: number of folds', { min: 2, max: 100 }),
  seed: textFlag({ default: '42', description: 'Random seed', schema: z.coerce.number().int() }),
  'group-by': {
    kind: 'enum',
    choices: GROUP_BY,
    default: 'auto',
    description:
      'auto: keep each lesion/group (column) in one part, refusing data without one; image: confirm one group per image (may leak lesions)',
  },
});

/** `lesionlab split <root> --out split.json`: a lesion-grouped, class-stratified hold-out or k-fold split. */
export const splitCommand = flagCommand(flags, {
  meta: { name: 'split', description: 'Split a dataset by lesion into train/val/test or k folds' },
  async run({ root, out, val, test, folds, seed, 'group-by': groupBy }, args) {
    const dataset = await loadDataset(root, datasetOptions(args, consoleLogger));
    assertSplittable(dataset, { groupBy });
    const split =
      folds !== undefined
        ? { kind: 'kfold' as const, seed, foldTest: kfoldByGroup(dataset.records, { folds, seed }) }
        : {
            kind: 'holdout' as const,
            seed,
            val,
            test,
            parts: splitByGroup(dataset.records, { val, test, seed }),
          };
    const file = buildSplitFile(dataset.records, dataset, split);
    await writeSplitFile(out, file);
    const parts =
      split.kind === 'kfold'
        ? Object.fromEntries(split.foldTest.map((ids, i) => [`fold ${i}`, ids]))
        : { ...split.parts };
    for (const line of formatParts(summarizeParts(dataset.records, parts), dataset.classes))
      consoleLogger.info(line);
    consoleLogger.info(`wrote ${out} (${file.kind}, seed ${seed}, fingerprint ${file.dataset.fingerprint})`);
  },
});
