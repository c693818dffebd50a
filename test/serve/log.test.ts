import { describe, expect, it } from 'vitest';
import { jsonLogger, logEvent, requestId } from '../../src/serve/log.js';

describe('structured logs', () => {
  it('jsonLogger writes one JSON object per line with time, level, msg and fields', () => {
    const lines: string[] = [];
    const log = jsonLogger(
      (l) => lines.push(l),
      () => new Date(0),
    );
    log.info('hello "world"');
    log.event('warn', 'request', { reqId: 'r1', status: 503 });
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { time: '1970-01-01T00:00:00.000Z', level: 'info', msg: 'hello "world"' },
      { time: '1970-01-01T00:00:00.000Z', level: 'warn', msg: 'request', reqId: 'r1', status: 503 },
    ]);
  });

  it('logEvent falls back to key=value text for a plain logger', () => {
    const seen: string[] = [];
    logEvent({ info: (m) => seen.push(m), warn: () => {} }, 'info', 'request', {
      reqId: 'a',
      url: '/x y',
      gone: undefined,
    });
    expect(seen).toEqual(['request reqId=a url="/x y"']);
  });

  it('keeps a plain client request id and replaces an odd or long one', () => {
    expect(requestId({ headers: { 'x-request-id': 'scan-42.a:b_c' } })).toBe('scan-42.a:b_c');
    for (const odd of ['a b', 'x'.repeat(129), '{"inject":1}', undefined]) {
      expect(requestId({ headers: { 'x-request-id': odd } })).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});
