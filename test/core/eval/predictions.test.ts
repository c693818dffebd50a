import { describe, expect, it } from 'vitest';
import { formatPredictionsCsv, parsePredictionsCsv } from '../../../src/core/eval/predictions.js';

describe('predictions.csv', () => {
  const classes = ['mel', 'nv'];
  const images = ['ISIC_1', 'odd,"name"'];
  const labels = ['nv', ''];
  const probabilities = [Float64Array.of(0.25, 0.75), Float64Array.of(0.5, 0.5)];

  it('writes image, label, predicted and one probability column per class, quoting odd cells', () => {
    expect(formatPredictionsCsv(classes, images, labels, probabilities)).toBe(
      'image,label,predicted,mel,nv\nISIC_1,nv,nv,0.25,0.75\n"odd,""name""",,mel,0.5,0.5\n',
    );
  });

  it('reads back what it wrote', () => {
    const table = parsePredictionsCsv(formatPredictionsCsv(classes, images, labels, probabilities), 'p.csv');
    expect(table).toEqual({ classes, images, labels, probabilities });
  });

  it('names the file and what to check for a foreign header', () => {
    expect(() => parsePredictionsCsv('a,b\n1,2\n', 'x.csv')).toThrow(
      'expected the header image,label,predicted,<classes...> for x.csv but received "a,b"; is this a lesionlab predictions.csv?',
    );
  });
});
