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
