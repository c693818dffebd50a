import { defineCommand } from 'citty';
import { z } from 'zod';
import { assertSplittable, GROUP_BY, type GroupBy, kfoldByGroup, splitByGroup } from '../core/data/split.js';
import { buildSplitFile } from '../core/data/split-schema.js';
import { formatParts, summarizeParts } from '../core/data/summary.js';
import { LesionlabError } from '../core/errors.js';
import { loadDataset } from '../node/data/load-dataset.js';
import { writeSplitFile } from '../node/data/split-file.js';
import { consoleLogger } from './console-logger.js';
import { datasetArgs, datasetOptions } from './inspect.js';

const SplitArgs = z
  .object({
    val: z.coerce.number().min(0).max(0.9),
    test: z.coerce.number().min(0).max(0.9),
    folds: z.coerce.number().int().min(2).max(100).optional(),
    seed: z.coerce.number().int(),
  })
  .strict();

/** `lesionlab split <root> --out split.json`: a lesion-grouped, class-stratified hold-out or k-fold split. */
export const splitCommand = defineCommand({
  meta: { name: 'split', description: 'Split a dataset by lesion into train/val/test or k folds' },
  args: {
    ...datasetArgs,
    out: { type: 'string', required: true, description: 'Split file to write (JSON)' },
    val: { type: 'string', default: '0.15', description: 'Validation fraction of images' },
    test: { type: 'string', default: '0.15', description: 'Test fraction of images' },
    folds: { type: 'string', description: 'K-fold instead of hold-out: number of folds' },
    seed: { type: 'string', default: '42', description: 'Random seed' },
    'group-by': {
      type: 'enum',
      options: [...GROUP_BY],
      default: 'auto',
      description:
        'auto: keep each lesion/group (column) in one part, refusing data without one; image: confirm one group per image (may leak lesions)',
    },
  },
  async run({ args }) {
    const parsed = SplitArgs.safeParse({
      val: args.val,
      test: args.test,
      folds: args.folds,
      seed: args.seed,
    });
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new LesionlabError('E_CONFIG', `split: --${String(i.path[0])}: ${i.message}`);
    }
    const { val, test, folds, seed } = parsed.data;
    const dataset = await loadDataset(args.root, datasetOptions(args, consoleLogger));
    assertSplittable(dataset, { groupBy: args['group-by'] as GroupBy });
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
    await writeSplitFile(args.out, file);
    const parts =
      split.kind === 'kfold'
        ? Object.fromEntries(split.foldTest.map((ids, i) => [`fold ${i}`, ids]))
        : { ...split.parts };
    for (const line of formatParts(summarizeParts(dataset.records, parts), dataset.classes))
      consoleLogger.info(line);
    consoleLogger.info(
      `wrote ${args.out} (${file.kind}, seed ${seed}, fingerprint ${file.dataset.fingerprint})`,
    );
  },
});
