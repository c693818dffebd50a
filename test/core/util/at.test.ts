import { describe, expect, it } from 'vitest';
import { at } from '../../../src/core/util/at.js';

describe('at', () => {
  it('returns the element at an index in range, of arrays and typed arrays', () => {
    expect(at(['a', 'b', 'c'], 2)).toBe('c');
    expect(at(new Float32Array([0.5, 1.5]), 1)).toBe(1.5);
  });

  it('returns an element that is itself undefined when the index is in range', () => {
    expect(at([undefined, 1], 0)).toBeUndefined();
  });

  it.each([-1, 3, 1.5, Number.NaN])('throws a RangeError naming index %s and the length', (index) => {
    expect(() => at([1, 2, 3], index)).toThrow(RangeError);
    expect(() => at([1, 2, 3], index)).toThrow(`index ${index} is outside 0..2 (length 3)`);
  });
});
