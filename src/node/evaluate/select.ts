import type { ImageRecord } from '../../core/data/records.js';
import type { SplitFile } from '../../core/data/split-schema.js';
import { expected } from '../../core/errors.js';

/** Which images to evaluate. */
export type EvaluationSplit = 'test' | 'val' | 'all';

/** Records of the requested split part, in split-file order; ids the dataset lacks are counted, not fatal. */
export function selectSplitRecords(
  records: readonly ImageRecord[],
  split: SplitFile | null,
  part: EvaluationSplit,
): { records: ImageRecord[]; missing: number } {
  if (part === 'all') return { records: [...records], missing: 0 };
  if (split === null) {
    throw expected({
      what: 'a split file (a training run with split.json)',
      where: `--split ${part}`,
      received: 'none (the target is not a training run with split.json)',
      fix: 'pass --split all or --split-file <path>',
      code: 'E_SPLIT',
    });
  }
  if (split.kind !== 'holdout') {
    throw expected({
      what: 'a hold-out split file',
      where: `--split ${part}`,
      received: `a ${split.folds}-fold split file`,
      fix: 'pass --split all',
      code: 'E_SPLIT',
    });
  }
  const byId = new Map(records.map((r) => [r.imageId, r]));
  const ids = split.parts[part];
  const selected = ids.flatMap((id) => {
    const r = byId.get(id);
    return r === undefined ? [] : [r];
  });
  return { records: selected, missing: ids.length - selected.length };
}
