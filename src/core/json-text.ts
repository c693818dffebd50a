import { expected, type LesionlabErrorCode } from './errors.js';

/** Where a JSON text came from and what to do when it does not parse; see {@link parseJsonText}. */
export interface JsonTextSource {
  /** The file (or thing) the text was read from, as the message names it. */
  readonly where: string;
  readonly fix: string;
  readonly code: LesionlabErrorCode;
}

/**
 * Parses JSON text (a run config, bundle.json, a cache index, model.json, a split file, a --config file); text that
 * does not parse is one `expected valid JSON for <where> but received text that does not parse (...)` error.
 */
export function parseJsonText(text: string, source: JsonTextSource): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw expected({
      what: 'valid JSON',
      where: source.where,
      received: `text that does not parse (${(error as Error).message})`,
      fix: source.fix,
      code: source.code,
      cause: error,
    });
  }
}
