import { describe, expect, it } from 'vitest';
import { rankClasses, topK } from '../../../src/core/infer/rank.js';

const classes = ['a', 'b', 'c'];

describe('ranking classes (one rule for predict, the server and the page)', () => {
  it('sorts all classes by probability, most probable first, ties in class order', () => {
    expect(rankClasses([0.1, 0.6, 0.3], classes)).toEqual([
      { label: 'b', probability: 0.6 },
      { label: 'c', probability: 0.3 },
      { label: 'a', probability: 0.1 },
    ]);
    expect(rankClasses([0.4, 0.2, 0.4], classes).map((s) => s.label)).toEqual(['a', 'c', 'b']);
  });

  it('topK keeps the first k of that ranking', () => {
    expect(topK([0.2, 0.7, 0.1], classes, 2).map((s) => s.label)).toEqual(['b', 'a']);
    expect(topK([0.2, 0.7, 0.1], classes, 9)).toHaveLength(3);
    expect(topK([0.2, 0.7, 0.1], classes, 0)).toEqual([]);
    expect(topK([0.2, 0.7, 0.1], classes, -1)).toEqual([]);
  });
});
