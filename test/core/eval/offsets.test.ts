import { describe, expect, it } from 'vitest';
import { createRng } from '../../../src/core/eval/bootstrap.js';
import { balancedAccuracy, predictedClasses } from '../../../src/core/eval/metrics.js';
import { applyClassOffsets, tuneClassOffsets } from '../../../src/core/eval/offsets.js';
import { formatPredictionsCsv, parsePredictionsCsv } from '../../../src/core/eval/predictions.js';
import { at } from '../../../src/core/util/at.js';

/** A model biased towards class 0: the minority classes need a positive offset. */
function biased(n: number, seed: number) {
  const rng = createRng(seed);
  const labels = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 1 : i % 7 === 0 ? 2 : 0));
  const probabilities = labels.map((l) => {
    const logits = [1.2 + rng(), rng(), rng()];
    logits[l] = at(logits, l) + rng() * 1.5;
    const exp = logits.map(Math.exp);
    const s = exp.reduce((a, b) => a + b, 0);
    return exp.map((e) => e / s);
  });
  return { labels, probabilities };
}

describe('tuneClassOffsets / applyClassOffsets', () => {
  it('raises validation balanced accuracy of a biased model and transfers to held-out data', () => {
    const val = biased(400, 1);
    const test = biased(400, 2);
    const offsets = tuneClassOffsets(val.labels, val.probabilities, 3);
    const before = balancedAccuracy(val.labels, predictedClasses(val.probabilities), 3);
    const after = balancedAccuracy(
      val.labels,
      predictedClasses(applyClassOffsets(val.probabilities, offsets)),
      3,
    );
    expect(after).toBeGreaterThan(before + 0.05);
    expect(at(offsets, 1)).toBeGreaterThan(at(offsets, 0));
    const testAfter = balancedAccuracy(
      test.labels,
      predictedClasses(applyClassOffsets(test.probabilities, offsets)),
      3,
    );
    expect(testAfter).toBeGreaterThan(balancedAccuracy(test.labels, predictedClasses(test.probabilities), 3));
  });
  it('keeps rows normalised and leaves zero offsets as the identity', () => {
    const { probabilities } = biased(20, 3);
    const same = applyClassOffsets(probabilities, [0, 0, 0]);
    same.forEach((row, i) => {
      row.forEach((v, j) => {
        expect(v).toBeCloseTo(at(at(probabilities, i), j), 12);
      });
    });
    for (const row of applyClassOffsets(probabilities, [1, -2, 0.5]))
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
});

describe('predictions CSV', () => {
  it('round-trips image ids (with commas), labels and exact probabilities', () => {
    const text = formatPredictionsCsv(
      ['a', 'b'],
      ['x,1', 'y'],
      ['a', 'b'],
      [Float32Array.from([0.25, 0.75]), [0.9, 0.1]],
    );
    expect(text.split('\n')[0]).toBe('image,label,predicted,a,b');
    expect(text.split('\n')[1]).toBe('"x,1",a,b,0.25,0.75');
    const t = parsePredictionsCsv(text, 'p.csv');
    expect(t.images).toEqual(['x,1', 'y']);
    expect(t.labels).toEqual(['a', 'b']);
    expect([...at(t.probabilities, 1)]).toEqual([0.9, 0.1]);
  });
  it('names a wrong header and a bad number', () => {
    expect(() => parsePredictionsCsv('id,label\nx,a\n', 'p.csv')).toThrow(
      'expected the header image,[group,]label,predicted,<classes...> for p.csv but received "id,label"; is this a lesionlab predictions.csv?',
    );
    expect(() => parsePredictionsCsv('image,label,predicted,a,b\nx,a,a,oops,1\n', 'p.csv')).toThrow(
      'expected a probability (a number) for p.csv line 2 but received "oops"; re-create the file with `lesionlab evaluate`',
    );
  });
});
