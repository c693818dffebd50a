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
  readonly probabilities: readonly Float64Array[];
}

/**
 * `image,label,predicted,<one probability column per class>` with a header row. Text cells go through
 * `csvCell` (formula-guarded for spreadsheets), probabilities are written as plain numbers.
 */
export function formatPredictionsCsv(
  classes: readonly string[],
  images: readonly string[],
  labels: readonly string[],
  probabilities: ProbabilityRows,
): string {
  const lines = [['image', 'label', 'predicted', ...classes].map(csvCell).join(',')];
  images.forEach((image, i) => {
    const row = at(probabilities, i);
    let best = 0;
    for (let j = 1; j < classes.length; j++) if (at(row, j) > at(row, best)) best = j;
    const probs = Array.from({ length: classes.length }, (_, j) => String(at(row, j)));
    lines.push([image, at(labels, i), at(classes, best)].map(csvCell).concat(probs).join(','));
  });
  return `${lines.join('\n')}\n`;
}

/**
 * Parses a `predictions.csv` written by {@link formatPredictionsCsv}; `source` names the file in errors. Text
 * cells (image ids, labels, class names) lose the spreadsheet formula guard `csvCell` gave them (`csvText`).
 */
export function parsePredictionsCsv(text: string, source: string): PredictionTable {
  const table = parseTable(text, source, ',');
  const [image, label, predicted, ...classes] = table.header.map(csvText);
  if (image !== 'image' || label !== 'label' || predicted !== 'predicted' || classes.length < 2) {
    throw expected({
      what: 'the header image,label,predicted,<classes...>',
      where: source,
      received: shown(table.header.join(',')),
      fix: 'is this a lesionlab predictions.csv?',
      code: 'E_BAD_CSV',
    });
  }
  const probabilities = table.rows.map((row) =>
    Float64Array.from(classes, (_, j) => {
      const v = Number(row.cells[3 + j]);
      if (!Number.isFinite(v)) {
        throw expected({
          what: 'a probability (a number)',
          where: `${source} line ${row.line}`,
          received: shown(row.cells[3 + j]),
          fix: 're-create the file with `lesionlab evaluate`',
          code: 'E_BAD_CSV',
        });
      }
      return v;
    }),
  );
  // every row has its 3 + classes cells: a shorter one failed the probability check above
  const column = (c: number) => table.rows.map((r) => csvText(r.cells[c] ?? ''));
  return { classes, images: column(0), labels: column(1), probabilities };
}
