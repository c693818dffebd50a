import { parseTable } from '../data/csv.js';
import { expected, shown } from '../errors.js';
import { csvCell, csvText } from '../format/csv.js';
import { at } from '../util/at.js';
import type { ProbabilityRows } from './metrics.js';

/** Per-image predictions as saved beside a report (`predictions.csv`). */
export interface PredictionTable {
  readonly classes: readonly string[];
  readonly images: readonly string[];
  /** True class name per image ('' when unknown). */
  readonly labels: readonly string[];
  /** Group (lesion) id per image, when the file has the `group` column (files written before it have none). */
  readonly groups?: readonly string[];
  readonly probabilities: readonly Float64Array[];
}

/**
 * `image,group,label,predicted,<one probability column per class>` with a header row (`group`, the image's
 * lesion or other split group, only when `groups` is given: it lets a comparison test two models by lesion,
 * since a lesion's images are not independent). Text cells go through `csvCell` (formula-guarded for
 * spreadsheets), probabilities are written as plain numbers.
 */
export function formatPredictionsCsv(
  classes: readonly string[],
  images: readonly string[],
  labels: readonly string[],
  probabilities: ProbabilityRows,
  groups?: readonly string[],
): string {
  const lines = [
    ['image', ...(groups ? ['group'] : []), 'label', 'predicted', ...classes].map(csvCell).join(','),
  ];
  images.forEach((image, i) => {
    const row = at(probabilities, i);
    let best = 0;
    for (let j = 1; j < classes.length; j++) if (at(row, j) > at(row, best)) best = j;
    const probs = Array.from({ length: classes.length }, (_, j) => String(at(row, j)));
    const text = [image, ...(groups ? [at(groups, i)] : []), at(labels, i), at(classes, best)];
    lines.push(text.map(csvCell).concat(probs).join(','));
  });
  return `${lines.join('\n')}\n`;
}

/**
 * Parses a `predictions.csv` written by {@link formatPredictionsCsv}; `source` names the file in errors. Text
 * cells (image ids, labels, class names) lose the spreadsheet formula guard `csvCell` gave them (`csvText`).
 */
export function parsePredictionsCsv(text: string, source: string): PredictionTable {
  const table = parseTable(text, source, ',');
  const header = table.header.map(csvText);
  // `group` after `image` since group (lesion) ids were added; older files go straight on to `label`
  const grouped = header[1] === 'group' && header[2] === 'label';
  const first = grouped ? 4 : 3;
  const [image, label, predicted] = [header[0], header[first - 2], header[first - 1]];
  const classes = header.slice(first);
  if (image !== 'image' || label !== 'label' || predicted !== 'predicted' || classes.length < 2) {
    throw expected({
      what: 'the header image,[group,]label,predicted,<classes...>',
      where: source,
      received: shown(table.header.join(',')),
      fix: 'is this a lesionlab predictions.csv?',
      code: 'E_BAD_CSV',
    });
  }
  const probabilities = table.rows.map((row) =>
    Float64Array.from(classes, (_, j) => {
      const v = Number(row.cells[first + j]);
      if (!Number.isFinite(v)) {
        throw expected({
          what: 'a probability (a number)',
          where: `${source} line ${row.line}`,
          received: shown(row.cells[first + j]),
          fix: 're-create the file with `lesionlab evaluate`',
          code: 'E_BAD_CSV',
        });
      }
      return v;
    }),
  );
  // every row has its first + classes cells: a shorter one failed the probability check above
  const column = (c: number) => table.rows.map((r) => csvText(r.cells[c] ?? ''));
  return {
    classes,
    images: column(0),
    labels: column(first - 2),
    probabilities,
    ...(grouped ? { groups: column(1) } : {}),
  };
}
