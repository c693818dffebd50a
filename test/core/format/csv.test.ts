import { describe, expect, it } from 'vitest';
import { parseTable } from '../../../src/core/data/csv.js';
import { csvCell, csvText } from '../../../src/core/format/csv.js';
import { at } from '../../../src/core/util/at.js';

describe('csvCell', () => {
  it('leaves plain cells alone and quotes cells with a quote, comma or line break (quotes doubled)', () => {
    expect(csvCell('ISIC_0024313')).toBe('ISIC_0024313');
    expect(csvCell('')).toBe('');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\r')).toBe('"cr\r"');
  });

  it('guards text a spreadsheet would run as a formula with a leading quote (OWASP CSV injection)', () => {
    expect(csvCell('=HYPERLINK("http://evil.example","x").jpg')).toBe(
      `"'=HYPERLINK(""http://evil.example"",""x"").jpg"`,
    );
    expect(csvCell('=1+2')).toBe("'=1+2");
    expect(csvCell('+cmd|calc')).toBe("'+cmd|calc");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\t=1')).toBe(`"'\t=1"`);
    expect(csvCell('\r=1')).toBe(`"'\r=1"`);
    expect(csvCell('-Infinity')).toBe("'-Infinity");
    // already-quoted formula text gets one more quote, so the reader can tell a guard from a real quote
    expect(csvCell("'=1")).toBe("''=1");
    // a formula character elsewhere than first is harmless
    expect(csvCell('a=b')).toBe('a=b');
    expect(csvCell("it's")).toBe("it's");
    expect(csvCell("'quoted")).toBe("'quoted");
  });

  it('leaves numbers numeric, negative ones included', () => {
    for (const n of ['-0.5', '-1', '+3', '0.25', '-1e-7', '-.5', '1E+10', '-2.']) expect(csvCell(n)).toBe(n);
  });

  it("quotes cells with another locale's separator (semicolon, tab), so a formula cannot start a new cell there", () => {
    expect(csvCell('a;=1+2')).toBe('"a;=1+2"');
    expect(csvCell('a\t=1+2')).toBe('"a\t=1+2"');
  });
});

describe('csvText', () => {
  it('gives back exactly what csvCell was given, after a CSV parser', () => {
    const values = [
      'ISIC_1',
      '',
      '=HYPERLINK("x")',
      '=1+2',
      '+a',
      '-b',
      '@c',
      '\t=1',
      '\r=1',
      "'=1",
      "''=1",
      "'''@x",
      "'plain",
      "'",
      '-0.5',
      '-1e-7',
      'a,b;c',
      'say "hi"',
      'two\nlines',
    ];
    const text = `v\n${values.map(csvCell).join('\n')}\n`;
    const rows = parseTable(text, 't.csv', ',').rows.map((r) => csvText(at(r.cells, 0)));
    // parseTable drops a blank line; the empty value is the only one
    expect(rows).toEqual(values.filter((v) => v !== ''));
  });

  it('keeps a leading quote that is not a guard', () => {
    expect(csvText("'plain")).toBe("'plain");
    expect(csvText('-0.5')).toBe('-0.5');
    expect(csvText("'=1")).toBe('=1');
  });
});
