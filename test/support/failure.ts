import { isLesionlabError } from '../../src/core/errors.js';

/** How a promise fails: `CODE: message` for a LesionlabError, `other: …` otherwise, `no error` if it resolves. */
export async function failureOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isLesionlabError(error) ? `${error.code}: ${error.message}` : `other: ${String(error)}`;
  }
  return 'no error';
}
