import type { z } from 'zod';
import { shown } from '../errors.js';

/** One zod issue in the words of {@link expected}: what the schema wanted, where (a dotted key) and what it got. */
export interface IssueProblem {
  readonly what: string;
  /** The dotted key of the bad value, or `(root)`. */
  readonly key: string;
  readonly received: string;
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  number: 'a number',
  int: 'an integer',
  string: 'text',
  boolean: 'true or false',
  object: 'an object',
  record: 'an object',
  array: 'a list',
};

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

function bound(issue: { origin?: string; inclusive?: boolean }, limit: unknown, side: '>' | '<'): string {
  const n = Number(limit);
  if (issue.origin === 'string')
    return side === '>' ? `text of at least ${n} character(s)` : `text of at most ${n} characters`;
  if (issue.origin === 'array')
    return side === '>' ? `a list of at least ${n} item(s)` : `a list of at most ${n} items`;
  return `a number ${side}${issue.inclusive ? '=' : ''} ${n}`;
}

/** What the schema wanted, in words: `a number <= 8`, `one of avg, avg+max`, `no key other than epochs, ...`. */
function wanted(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return TYPE_WORDS[issue.expected] ?? `a value of type ${issue.expected}`;
    case 'too_small':
      return bound(issue, issue.minimum, '>');
    case 'too_big':
      return bound(issue, issue.maximum, '<');
    case 'invalid_value':
      return `one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'url' ? 'a URL' : `text in the ${issue.format} format`;
    default:
      return issue.message;
  }
}

/**
 * Turns the first issue of a failed zod parse of `input` into the parts of an `expected(...)` error; an
 * unknown key's `what` lists the keys allowed there (`allowedAt` says them for a path).
 */
export function issueProblem(
  issue: z.core.$ZodIssue,
  input: unknown,
  allowedAt?: (path: readonly PropertyKey[]) => string,
): IssueProblem {
  const key = issue.path.map(String).join('.') || '(root)';
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedAt ? allowedAt(issue.path) : undefined;
    return {
      key,
      what: allowed ? `only the keys ${allowed}` : 'no other keys',
      received: `the key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => shown(k)).join(', ')}`,
    };
  }
  return { key, what: wanted(issue), received: shown(valueAt(input, issue.path)) };
}
