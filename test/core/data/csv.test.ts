import { describe, expect, it } from 'vitest';
import { detectDelimiter, findColumn, parseTable } from '../../../src/core/data/csv.js';
import { LesionlabError } from '../../../src/core/errors.js';
import { at } from '../../../src/core/util/at.js';

describe('parseTable', () => {
  it('reads quoted fields with delimiters, escaped quotes and newlines', () => {
    const t = parseTable('a,b,c\n"x,1","say ""hi""","two\nlines"\nplain,,end\n', 't.csv');
    expect(t.header).toEqual(['a', 'b', 'c']);
    expect(t.rows.map((r) => r.cells)).toEqual([
      ['x,1', 'say "hi"', 'two\nlines'],
      ['plain', '', 'end'],
    ]);
    expect(t.rows.map((r) => r.line)).toEqual([2, 4]);
  });

  it('handles CRLF, a BOM, blank lines and a missing final newline', () => {
    const t = parseTable('\uFEFFimage,label\r\nA,nv\r\n\r\nB,mel', 't.csv');
    expect(t.header).toEqual(['image', 'label']);
    expect(t.rows.map((r) => r.cells)).toEqual([
      ['A', 'nv'],
      ['B', 'mel'],
    ]);
  });

  it('reads CR-only line ends (Excel for Mac) and takes the delimiter from the first line only', () => {
    const text = 'image;label\rISIC_1;nv\rISIC_2,a,b;mel,c,d\r';
    expect(detectDelimiter(text)).toBe(';');
    const t = parseTable(text, 'mac.csv');
    expect(t.header).toEqual(['image', 'label']);
    expect(t.rows.map((r) => r.cells)).toEqual([
      ['ISIC_1', 'nv'],
      ['ISIC_2,a,b', 'mel,c,d'],
    ]);
  });

  it('detects tab-separated Dataverse .tab files with quoted values', () => {
    const text = '"lesion_id"\t"image_id"\t"dx"\n"HAM_1"\t"ISIC_1"\t"nv"\n';
    expect(detectDelimiter(text)).toBe('\t');
    expect(at(parseTable(text, 'm.tab').rows, 0).cells).toEqual(['HAM_1', 'ISIC_1', 'nv']);
  });

  it('rejects an unclosed quote and an empty file with E_BAD_CSV', () => {
    expect(() => parseTable('a,b\n"x,1\n', 'bad.csv')).toThrow(
      `expected a closing quote for bad.csv line 2 but received a quoted field that never closes; check for a stray '"'`,
    );
    try {
      parseTable('\n\n', 'empty.csv');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(LesionlabError);
      expect((error as LesionlabError).code).toBe('E_BAD_CSV');
    }
  });

  it('finds columns case-insensitively in preference order', () => {
    expect(findColumn(['Image_ID', 'DX'], ['image', 'image_id'])).toBe(0);
    expect(findColumn(['a'], ['b'])).toBe(-1);
  });
});
