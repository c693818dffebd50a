import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { expected, expectedMessage } from '../core/errors.js';
import { ApiError } from './api-error.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Checks a bearer token before it is used: `undefined` means no auth; an empty token, or one with spaces or
 * control characters (which no `Authorization` header can carry intact), is an error, never "auth off".
 * `source` names where the token came from (e.g. `--token`) in the message.
 */
export function validateToken(token: string | undefined, source = 'token'): string | undefined {
  if (token === undefined) return undefined;
  if (token === '') {
    throw expected({
      what: 'a non-empty token',
      where: source,
      received: 'an empty token, which would leave the API open',
      fix: 'pass a non-empty token, or omit it to serve without auth',
      code: 'E_CONFIG',
    });
  }
  if (/[\s\p{Cc}]/u.test(token)) {
    throw expected({
      what: 'a token an Authorization header can carry',
      where: source,
      received: 'a token with a space or control character',
      fix: 'use letters, digits and punctuation only',
      code: 'E_CONFIG',
    });
  }
  return token;
}

/** A check of `Authorization: Bearer <token>` in constant time; throws a 401 {@link ApiError}. */
export function bearerCheck(token: string): (header: string | undefined) => void {
  const wanted = digest(token);
  return (header) => {
    const presented = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1];
    if (presented === undefined || !timingSafeEqual(digest(presented.trim()), wanted)) {
      throw new ApiError(
        401,
        'E_UNAUTHORIZED',
        expectedMessage({
          what: "the server's bearer token",
          where: 'the Authorization header',
          received: presented !== undefined ? 'a wrong token' : 'none',
          fix: 'send "Authorization: Bearer <token>"',
        }),
      );
    }
  };
}

/** True for the route patterns that need the token: the API under /v1 (health and the page stay open). */
export function isProtectedRoute(pattern: string | undefined): boolean {
  return pattern !== undefined && (pattern === '/v1' || pattern.startsWith('/v1/'));
}

/**
 * Requires the bearer token on every protected route. The check reads the pattern of the route the router
 * matched (`req.routeOptions.url`), never the request URL, so percent-encoded paths (`/%761/predict`) and
 * absolute-form targets (`POST http://host/v1/predict`) cannot reach a protected route without the token.
 */
export function addBearerAuth(app: FastifyInstance, token: string): void {
  const check = bearerCheck(token);
  app.addHook('onRequest', async (req) => {
    if (isProtectedRoute(req.routeOptions.url)) check(req.headers.authorization);
  });
}
