import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { issueProblem } from '../../../src/core/config/zod-issue.js';

const problemOf = (schema: z.ZodType, input: unknown, allowed?: (path: readonly PropertyKey[]) => string) => {
  const result = schema.safeParse(input);
  if (result.success || !result.error.issues[0]) throw new Error('expected a failed parse');
  return issueProblem(result.error.issues[0], input, allowed);
};

describe('issueProblem', () => {
  const schema = z
    .object({ a: z.object({ n: z.number().int().min(1).max(8), mode: z.enum(['x', 'y']) }).strict() })
    .strict();

  it('says the type, bound or choices wanted, the dotted key and the value found (nothing when missing)', () => {
    expect(problemOf(schema, {})).toEqual({ key: 'a', what: 'an object', received: 'nothing' });
    expect(problemOf(schema, { a: { n: 'two', mode: 'x' } })).toEqual({
      key: 'a.n',
      what: 'a number',
      received: '"two"',
    });
    expect(problemOf(schema, { a: { n: 9, mode: 'x' } })).toEqual({
      key: 'a.n',
      what: 'a number <= 8',
      received: '9',
    });
    expect(problemOf(schema, { a: { n: 1.5, mode: 'x' } }).what).toBe('an integer');
    expect(problemOf(schema, { a: { n: 2, mode: 'z' } })).toEqual({
      key: 'a.mode',
      what: 'one of x, y',
      received: '"z"',
    });
  });

  it('names unknown keys and, when told, the keys allowed there', () => {
    expect(problemOf(schema, { a: { n: 2, mode: 'x' }, b: 1 })).toEqual({
      key: '(root)',
      what: 'no other keys',
      received: 'the key "b"',
    });
    expect(problemOf(schema, { a: { n: 2, mode: 'x', p: 1, q: 2 } }, () => 'n, mode')).toEqual({
      key: 'a',
      what: 'only the keys n, mode',
      received: 'the keys "p", "q"',
    });
  });
});
