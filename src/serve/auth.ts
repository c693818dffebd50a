import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './api-error.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

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
