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

  it('writes and reads back a group (lesion) column after the image', () => {
    const text = formatPredictionsCsv(classes, images, labels, probabilities, ['HAM_1', '=HAM_2']);
    expect(text.split('\n')[0]).toBe('image,group,label,predicted,mel,nv');
    expect(text.split('\n')[1]).toBe('ISIC_1,HAM_1,nv,nv,0.25,0.75');
    expect(parsePredictionsCsv(text, 'p.csv')).toEqual({
      classes,
      images,
      labels,
      probabilities,
      groups: ['HAM_1', '=HAM_2'],
    });
  });

  it('names the file and what to check for a foreign header', () => {
    expect(() => parsePredictionsCsv('a,b\n1,2\n', 'x.csv')).toThrow(
      'expected the header image,[group,]label,predicted,<classes...> for x.csv but received "a,b"; is this a lesionlab predictions.csv?',
    );
  });

  it('guards formula-looking ids and class names for spreadsheets and reads them back as they were', () => {
    const odd = ['=mel', 'nv'];
    const ids = ['=HYPERLINK("http://evil.example","click").jpg', "'=quoted", '-12', '@x'];
    const truth = ['=mel', 'nv', '', '=mel'];
    const rows = [
      Float64Array.of(0.9, 0.1),
      Float64Array.of(0.2, 0.8),
      Float64Array.of(0.5, 0.5),
      Float64Array.of(1e-7, 1 - 1e-7),
    ];
    const text = formatPredictionsCsv(odd, ids, truth, rows);
    expect(text.split('\n')).toEqual([
      "image,label,predicted,'=mel,nv",
      `"'=HYPERLINK(""http://evil.example"",""click"").jpg",'=mel,'=mel,0.9,0.1`,
      "''=quoted,nv,nv,0.2,0.8",
      "-12,,'=mel,0.5,0.5",
      `'@x,'=mel,nv,1e-7,${1 - 1e-7}`,
      '',
    ]);
    expect(parsePredictionsCsv(text, 'p.csv')).toEqual({
      classes: odd,
      images: ids,
      labels: truth,
      probabilities: rows,
    });
  });
});
