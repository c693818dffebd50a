import { describe, expect, it } from 'vitest';
import { countLabels, labelIndices } from '../../../src/core/data/class-index.js';
import type { ImageRecord } from '../../../src/core/data/records.js';

const records = (...labels: string[]): ImageRecord[] =>
  labels.map((label, i) => ({ imageId: `img_${i}`, label, groupId: `g${i}`, path: `/d/${i}.jpg` }));

describe('labelIndices', () => {
  it('gives each record the position of its class, exact matches first', () => {
    expect(Array.from(labelIndices(records('mel', 'nv', 'mel', 'bcc'), ['bcc', 'mel', 'nv']))).toEqual([
      1, 2, 1, 0,
    ]);
    // classes that differ only in case stay distinct for labels that spell them exactly (folder-per-class data)
    expect(Array.from(labelIndices(records('Mel', 'mel'), ['Mel', 'mel']))).toEqual([0, 1]);
  });

  it('matches a label to the one class it spells ignoring case (training and evaluation alike)', () => {
    expect(Array.from(labelIndices(records('MEL', 'Nv', 'benign'), ['Benign', 'mel', 'nv']))).toEqual([
      1, 2, 0,
    ]);
  });

  it('refuses a label that matches two classes ignoring case only', () => {
    expect(() => labelIndices(records('nv', 'MEL'), ['Mel', 'mel', 'nv'])).toThrow(
      expect.objectContaining({
        code: 'E_UNKNOWN_LABEL',
        message:
          'expected a label that names one class for img_1 but received "MEL", which matches the classes "Mel" and "mel" ignoring case; write the label exactly as one of them',
      }),
    );
  });

  it('names every unknown label once, with an image that has it, the classes and the fix', () => {
    expect(() => labelIndices(records('mel', 'xyz', 'abc', 'xyz'), ['mel', 'nv'], 'retrain')).toThrow(
      expect.objectContaining({
        code: 'E_UNKNOWN_LABEL',
        message:
          'expected labels among the classes mel, nv for the records but received "xyz" (e.g. img_1), "abc" (e.g. img_2); retrain',
      }),
    );
  });
});

describe('countLabels', () => {
  it('counts class indices from an array or an Int32Array, zeros included', () => {
    expect(countLabels([0, 0, 0, 2, 2, 0], 4)).toEqual([4, 0, 2, 0]);
    expect(countLabels(Int32Array.from([1, 1, 0]), 2)).toEqual([1, 2]);
  });

  it('refuses an index outside 0..k-1', () => {
    expect(() => countLabels([3], 3)).toThrow(
      'expected class indices from 0 to 2 for countLabels but received the label index 3; labels are class indices',
    );
    expect(() => countLabels([-1], 3)).toThrow(/^expected class indices from 0 to 2 .* the label index -1;/);
  });
});
