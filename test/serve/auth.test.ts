import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProtectedRoute, validateToken } from '../../src/serve/auth.js';
import { createServer } from '../../src/serve/server.js';
import { httpRequest, listenLoopback, rawRequest } from '../support/raw-http.js';
import { fakeClassifier, jpeg } from '../support/serve-fixtures.js';

let app: FastifyInstance;
let port: number;
let img: Buffer;

beforeAll(async () => {
  app = await createServer(fakeClassifier(), { token: 's3cret' });
  port = await listenLoopback(app);
  img = await jpeg();
});
afterAll(() => app.close());

/** Every spelling of a protected route that the router resolves to it (issue #11, item 1). */
const TARGETS: ReadonlyArray<readonly [string, () => string]> = [
  ['POST', () => '/v1/predict'],
  ['POST', () => '/%761/predict'],
  ['POST', () => '/v%31/predict'],
  ['POST', () => '/%76%31/%70redict'],
  ['POST', () => '/v1/predict?x=1'],
  ['POST', () => `http://127.0.0.1:${port}/v1/predict`],
  ['POST', () => `http://127.0.0.1:${port}/%761/predict`],
  ['GET', () => '/v1/model'],
  ['GET', () => '/%761/model'],
  ['GET', () => `http://127.0.0.1:${port}/v1/model`],
  ['HEAD', () => '/%761/model'],
];

describe('bearer auth over a real socket', () => {
  it.each(TARGETS)(
    '%s %s: 401 without the token or with a wrong one, served with it',
    async (method, target) => {
      const body = method === 'POST' ? img : undefined;
      const none = await rawRequest(port, httpRequest(method, target(), { body }));
      expect(none.status).toBe(401);
      if (method !== 'HEAD') expect(JSON.parse(none.body).error.code).toBe('E_UNAUTHORIZED');
      const wrong = await rawRequest(
        port,
        httpRequest(method, target(), { body, headers: { Authorization: 'Bearer s3cre' } }),
      );
      expect(wrong.status).toBe(401);
      const ok = await rawRequest(
        port,
        httpRequest(method, target(), { body, headers: { Authorization: 'Bearer s3cret' } }),
      );
      expect(ok.status).toBe(200);
      if (method === 'POST') expect(JSON.parse(ok.body).model.name).toBe('fake-model');
      if (method === 'GET') expect(JSON.parse(ok.body).classes).toHaveLength(7);
    },
  );

  it('leaves /healthz open and answers unknown paths with 404, token or not', async () => {
    expect((await rawRequest(port, httpRequest('GET', '/healthz'))).status).toBe(200);
    expect((await rawRequest(port, httpRequest('GET', '/%68ealthz'))).status).toBe(200);
    expect((await rawRequest(port, httpRequest('GET', '/v1/nothing'))).status).toBe(404);
  });
});

describe('token validation', () => {
  it.each([
    ['', /^expected a non-empty token for --token but received an empty token/],
    [
      'two words',
      /^expected a token an Authorization header can carry for --token but received a token with a space or control character; use letters/,
    ],
    ['tab\there', /space or control character/],
  ])('refuses the token %j instead of serving without auth', async (token, message) => {
    expect(() => validateToken(token, '--token')).toThrow(message);
    await expect(createServer(fakeClassifier(), { token })).rejects.toMatchObject({ code: 'E_CONFIG' });
  });

  it('keeps "no token" and ordinary tokens', () => {
    expect(validateToken(undefined)).toBeUndefined();
    expect(validateToken('a-B_9.~+/=')).toBe('a-B_9.~+/=');
  });

  it('protects the /v1 route patterns only', () => {
    expect(['/v1/predict', '/v1/model', '/v1'].every(isProtectedRoute)).toBe(true);
    expect(['/healthz', '/', '/*', '/v1x', undefined].some(isProtectedRoute)).toBe(false);
  });
});
