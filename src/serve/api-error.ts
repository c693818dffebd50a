/** Machine-readable codes of the HTTP API's `{ error: { code, message } }` answers. */
export type ApiErrorCode =
  | 'E_INPUT'
  | 'E_BAD_IMAGE'
  | 'E_UNSUPPORTED_MEDIA'
  | 'E_TOO_LARGE'
  | 'E_IMAGE_TOO_LARGE'
  | 'E_UNAUTHORIZED'
  | 'E_NOT_FOUND'
  | 'E_METHOD_NOT_ALLOWED'
  | 'E_TIMEOUT'
  | 'E_BUSY'
  | 'E_UNAVAILABLE'
  | 'E_INTERNAL';

/** An error the API answers with `status` and a JSON body; anything else becomes a 500. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;
  /** Seconds the client should wait before retrying (sent as `Retry-After`), for 503s. */
  readonly retryAfterS: number | undefined;

  constructor(status: number, code: ApiErrorCode, message: string, options: { retryAfterS?: number } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfterS = options.retryAfterS;
  }
}

/** The JSON body of every error answer. */
export interface ApiErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

const FASTIFY_CODES: Readonly<Record<string, ApiErrorCode>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'E_UNSUPPORTED_MEDIA',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'E_INPUT',
  FST_ERR_CTP_BODY_TOO_LARGE: 'E_TOO_LARGE',
  FST_REQ_FILE_TOO_LARGE: 'E_TOO_LARGE',
  FST_FILES_LIMIT: 'E_INPUT',
  FST_PARTS_LIMIT: 'E_INPUT',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'E_UNSUPPORTED_MEDIA',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'E_INPUT',
  FST_ERR_CTP_INVALID_JSON_BODY: 'E_INPUT',
  FST_ERR_BAD_URL: 'E_INPUT',
  FST_ERR_MAX_PARAM_LENGTH: 'E_TOO_LARGE',
  FST_MP_PREMATURE_CLOSE: 'E_INPUT',
};

/** The `{ error: { code, message } }` body of an error answer. */
export function errorBody(code: ApiErrorCode, message: string): ApiErrorBody {
  return { error: { code, message } };
}

/** Maps any thrown error to an HTTP status and JSON body; 5xx bodies never leak internals. */
export function toErrorAnswer(error: unknown): { status: number; body: ApiErrorBody } {
  if (error instanceof ApiError) {
    return { status: error.status, body: errorBody(error.code, error.message) };
  }
  const e = error as { statusCode?: number; code?: string; message?: string };
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code = (e.code ? FASTIFY_CODES[e.code] : undefined) ?? 'E_INPUT';
    return { status, body: errorBody(code, e.message ?? 'bad request') };
  }
  return { status: 500, body: errorBody('E_INTERNAL', 'internal error; see the server log') };
}
