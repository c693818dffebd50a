import { expected, type LesionlabError } from '../errors.js';
import type { ImageRecord } from './records.js';

/**
 * The one rule that turns a record's label into a class index, in training and in evaluation alike: a label
 * names the class it spells exactly; failing that, the one class it spells ignoring case (`MEL` → `mel`, a
 * dataset whose folders are `benign`/`malignant` against a model trained on `Benign`/`Malignant`). A label
 * that spells no class is `E_UNKNOWN_LABEL`, and so is one that matches two classes ignoring case only.
 */
export function labelIndices(
  records: readonly ImageRecord[],
  classes: readonly string[],
  fix = 'use data labelled with the same classes',
): Int32Array {
  const exact = new Map(classes.map((c, i) => [c, i]));
  const folded = foldedIndex(classes);
  const unknown = new Map<string, string>(); // label -> first image id
  const labels = Int32Array.from(records, (r) => {
    const at = exact.get(r.label) ?? folded.get(r.label.toLowerCase());
    if (at === undefined && !unknown.has(r.label)) unknown.set(r.label, r.imageId);
    return at ?? -1;
  });
  const ambiguous = labels.indexOf(AMBIGUOUS);
  if (ambiguous >= 0) throw ambiguousLabel(records[ambiguous] as ImageRecord, classes);
  if (unknown.size > 0) {
    const listed = [...unknown].map(([label, id]) => `"${label}" (e.g. ${id})`).join(', ');
    throw expected({
      what: `labels among the classes ${classes.join(', ')}`,
      where: 'the records',
      received: listed,
      fix,
      code: 'E_UNKNOWN_LABEL',
    });
  }
  return labels;
}

/** Marks a lower-cased label that two or more classes share. */
const AMBIGUOUS = -2;

function foldedIndex(classes: readonly string[]): Map<string, number> {
  const folded = new Map<string, number>();
  classes.forEach((c, i) => {
    const key = c.toLowerCase();
    folded.set(key, folded.has(key) ? AMBIGUOUS : i);
  });
  return folded;
}

function ambiguousLabel(record: ImageRecord, classes: readonly string[]): LesionlabError {
  const matches = classes.filter((c) => c.toLowerCase() === record.label.toLowerCase());
  return expected({
    what: 'a label that names one class',
    where: record.imageId,
    received: `"${record.label}", which matches the classes ${matches.map((c) => `"${c}"`).join(' and ')} ignoring case`,
    fix: 'write the label exactly as one of them',
    code: 'E_UNKNOWN_LABEL',
  });
}

/** How many labels fall in each class 0..numClasses-1; throws on an index outside that range. */
export function countLabels(labels: ArrayLike<number>, numClasses: number): number[] {
  const counts = Array.from({ length: numClasses }, () => 0);
  for (const index of Array.from(labels)) {
    if (!Number.isInteger(index) || index < 0 || index >= numClasses) {
      throw expected({
        what: `class indices from 0 to ${numClasses - 1}`,
        where: 'countLabels',
        received: `the label index ${index}`,
        fix: 'labels are class indices',
        code: 'E_INPUT',
      });
    }
    counts[index] = (counts[index] ?? 0) + 1;
  }
  return counts;
}
