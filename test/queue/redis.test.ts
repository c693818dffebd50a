import { describe, expect, it } from 'vitest';
import { chunk, queueKeys, redisConnection } from '../../src/queue/redis.js';

describe('redisConnection', () => {
  it('reads host, port, db and credentials from a redis:// URL', () => {
    expect(redisConnection('redis://127.0.0.1:6380/2')).toEqual({ host: '127.0.0.1', port: 6380, db: 2 });
    expect(redisConnection('redis://u:p%40ss@h')).toEqual({
      host: 'h',
      port: 6379,
      db: 0,
      username: 'u',
      password: 'p@ss',
    });
    expect(redisConnection('rediss://h:1')).toMatchObject({ tls: {} });
  });

  it.each([
    ['localhost:6379', 'expected a Redis URL for --redis but received "localhost:6379" (scheme localhost:)'],
    ['http://h:1', 'expected a Redis URL for --redis but received "http://h:1" (scheme http:)'],
    ['redis://h/x', 'expected a Redis URL for --redis but received "redis://h/x" (database "x")'],
    ['nonsense', 'expected a Redis URL for --redis but received "nonsense" (not a URL)'],
  ])('refuses %s with one line naming the flag and the fix', (url, message) => {
    expect(() => redisConnection(url)).toThrow(message);
    expect(() => redisConnection(url)).toThrow(
      /^expected a Redis URL for --redis but received .*; use redis:\/\/host:6379 or redis:\/\/:password@host:6379\/0$/,
    );
  });

  it('never prints a password in the error', () => {
    expect(() => redisConnection('http://u:secret@h')).toThrow(/\/\/\*\*\*@h/);
    expect(() => redisConnection('http://u:secret@h')).not.toThrow(/secret/);
  });
});

describe('queue keys', () => {
  it('keeps queues apart and splits lists into runs', () => {
    expect(queueKeys('a').results).not.toBe(queueKeys('b').results);
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });
});
