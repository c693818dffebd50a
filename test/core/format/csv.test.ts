import { describe, expect, it } from 'vitest';
import { csvCell } from '../../../src/core/format/csv.js';

describe('csvCell', () => {
  it('leaves plain cells alone and quotes cells with a quote, comma or line break (quotes doubled)', () => {
    expect(csvCell('ISIC_0024313')).toBe('ISIC_0024313');
    expect(csvCell('')).toBe('');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\r')).toBe('"cr\r"');
  });
});
