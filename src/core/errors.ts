/** Stable machine-readable error codes; tests and callers switch on these, never on message text. */
export type LesionlabErrorCode =
  | 'E_CONFIG'
  /** A command line the CLI cannot take: an unknown flag (the message names the closest valid one). */
  | 'E_USAGE'
  | 'E_MISSING_FILE'
  | 'E_MISSING_COLUMN'
  | 'E_BAD_CSV'
  | 'E_UNKNOWN_LABEL'
  | 'E_BAD_IMAGE'
  | 'E_DATA_INVALID'
  | 'E_SPLIT'
  | 'E_CACHE'
  | 'E_UNKNOWN_MODEL'
  | 'E_WEIGHTS'
  | 'E_DOWNLOAD'
  | 'E_CHECKSUM'
  | 'E_BACKEND'
  | 'E_ONNX'
  | 'E_RUN'
  | 'E_INPUT'
  | 'E_MODEL_BUNDLE'
  /** A file or folder could not be written: disk full, read-only, permission denied, missing folder. */
  | 'E_WRITE';

/**
 * The one error type lesionlab throws for bad input or environment. Its message says what is wrong,
 * what was found, and how to fix it, in one line; the CLI prints it without a stack trace.
 */
export class LesionlabError extends Error {
  readonly code: LesionlabErrorCode;

  constructor(code: LesionlabErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LesionlabError';
    this.code = code;
  }
}

/** True for errors lesionlab raised on purpose (bad data, bad config), as opposed to bugs. */
export function isLesionlabError(error: unknown): error is LesionlabError {
  return error instanceof LesionlabError;
}

/** What one user-facing check expected, where, what it got instead and how to fix it; see {@link expected}. */
export interface ExpectedProblem {
  /** What was expected, e.g. `an integer from 0 to 65535`. */
  readonly what: string;
  /** The thing checked: a flag (`--port`), a config key, a file, a column, a request field. */
  readonly where: string;
  /** What was found, as it should be shown; {@link shown} quotes a raw value. */
  readonly received: string;
  /** How to fix it, e.g. `pass --port 8080`; omitted only where the expectation says it all. */
  readonly fix?: string;
  readonly code: LesionlabErrorCode;
  readonly cause?: unknown;
}

/**
 * The one shape of a user-facing error: `expected X for Y but received Z; fix` (sharp's style), e.g.
 * `expected an integer from 0 to 65535 for --port but received "http"; e.g. --port 8080` with its stable code.
 */
export function expected(problem: ExpectedProblem): LesionlabError {
  const { code, cause } = problem;
  return new LesionlabError(code, expectedMessage(problem), cause === undefined ? undefined : { cause });
}

/**
 * {@link expected} for a value that must be one of a list of names (a backbone, a format, a mode): `expected one of
 * a, b, c for WHERE but received "x"; fix`.
 */
export function expectedOneOf(
  choices: readonly string[],
  problem: Omit<ExpectedProblem, 'what' | 'received'> & { readonly received: unknown },
): LesionlabError {
  return expected({ ...problem, what: `one of ${choices.join(', ')}`, received: shown(problem.received) });
}

/** The message of {@link expected} alone, for errors of another type (the HTTP API's answers). */
export function expectedMessage(
  problem: Pick<ExpectedProblem, 'what' | 'where' | 'received' | 'fix'>,
): string {
  const { what, where, received, fix } = problem;
  return `expected ${what} for ${where} but received ${received}${fix ? `; ${fix}` : ''}`;
}

/** A raw value as an error shows it: text in double quotes, `nothing` for undefined, anything else as JSON. */
export function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return JSON.stringify(value) ?? String(value);
}
