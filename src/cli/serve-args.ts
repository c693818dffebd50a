import { LesionlabError } from '../core/errors.js';

/** Parses a CLI integer option in [min, max]; `name` is the flag shown in the error. */
export function intArg(
  value: string | undefined,
  name: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new LesionlabError(
      'E_CONFIG',
      `--${name}: expected an integer from ${min} to ${max}, got "${value}"`,
    );
  }
  return n;
}

/** Resolves once SIGINT or SIGTERM arrives. */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: string) => () => resolve(signal);
    process.once('SIGINT', on('SIGINT'));
    process.once('SIGTERM', on('SIGTERM'));
  });
}
