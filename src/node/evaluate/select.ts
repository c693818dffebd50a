import type { ImageRecord } from '../../core/data/records.js';
import type { SplitFile } from '../../core/data/split-schema.js';
import { LesionlabError } from '../../core/errors.js';

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
    throw new LesionlabError(
      'E_SPLIT',
      `--split ${part}: no split file (the target is not a training run with split.json); pass --split all or --split-file <path>`,
    );
  }
  if (split.kind !== 'holdout') {
    throw new LesionlabError(
      'E_SPLIT',
      `--split ${part}: the split file is ${split.folds}-fold, not hold-out; pass --split all`,
    );
  }
  const byId = new Map(records.map((r) => [r.imageId, r]));
  const ids = split.parts[part];
  const selected = ids.flatMap((id) => {
    const r = byId.get(id);
    return r === undefined ? [] : [r];
  });
  return { records: selected, missing: ids.length - selected.length };
}
