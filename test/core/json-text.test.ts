import { describe, expect, it } from 'vitest';
import { parseJsonText } from '../../src/core/json-text.js';

describe('parseJsonText', () => {
  const source = { where: '/runs/a/config.json', fix: 'start a new run instead', code: 'E_RUN' } as const;

  it('parses JSON text', () => {
    expect(parseJsonText('{"a":[1,2]}', source)).toEqual({ a: [1, 2] });
  });

  it('names the file, what did not parse and the fix, with the parse error as cause', () => {
    const error = (() => {
      try {
        parseJsonText('{not json', source);
      } catch (e) {
        return e as Error & { code: string };
      }
    })();
    expect(error?.code).toBe('E_RUN');
    expect(error?.message).toMatch(
      /^expected valid JSON for \/runs\/a\/config\.json but received text that does not parse \(.+\); start a new run instead$/,
    );
    expect(error?.cause).toBeInstanceOf(SyntaxError);
  });
});
