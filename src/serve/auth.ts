import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { LesionlabError } from '../core/errors.js';
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
    throw new LesionlabError(
      'E_CONFIG',
      `${source}: got an empty token, which would leave the API open; pass a non-empty token, or omit it to serve without auth`,
    );
  }
  if (/[\s\p{Cc}]/u.test(token)) {
    throw new LesionlabError(
      'E_CONFIG',
      `${source}: the token contains a space or control character, which an Authorization header cannot carry; use letters, digits and punctuation only`,
    );
  }
  return token;
}

/** A check of `Authorization: Bearer <token>` in constant time; throws a 401 {@link ApiError}. */
export function bearerCheck(token: string): (header: string | undefined) => void {
  const expected = digest(token);
  return (header) => {
    const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
    if (!match || !timingSafeEqual(digest(match[1].trim()), expected)) {
      throw new ApiError(
        401,
        'E_UNAUTHORIZED',
        'missing or wrong bearer token; send "Authorization: Bearer <token>"',
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
