import type { FastifyRequest } from 'fastify';
import { expectedMessage } from '../core/errors.js';
import { ApiError } from './api-error.js';
import { emptyBody, IMAGE_CONTENT_TYPES } from './image-check.js';

const ONE_FILE = 'send exactly one image per request as a file field';

/** A 400 for a multipart body that is not one image file, in the `expected ... but received ...` style. */
function notOneFile(received: string): ApiError {
  return new ApiError(
    400,
    'E_INPUT',
    expectedMessage({ what: 'one file part', where: 'the multipart body', received, fix: ONE_FILE }),
  );
}

/** True for errors that already carry a 4xx status (size limits, premature close): they keep it. */
function isClientError(error: unknown): boolean {
  const status =
    (error as { status?: number; statusCode?: number }).status ??
    (error as { statusCode?: number }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** The one file of a multipart body; a second file is refused (it is never dropped silently). */
async function readMultipartFile(req: FastifyRequest): Promise<Uint8Array> {
  let image: { field: string; bytes: Buffer } | undefined;
  for await (const part of req.parts()) {
    if (part.type !== 'file') continue;
    if (image) {
      throw notOneFile(`more than one file (fields "${image.field}" and "${part.fieldname}")`);
    }
    image = { field: part.fieldname, bytes: await part.toBuffer() };
  }
  if (!image) throw notOneFile('no file part');
  return image.bytes;
}

/** {@link readMultipartFile}, with busboy's errors on a malformed body (no boundary, cut short) as 400s. */
async function readMultipartImage(req: FastifyRequest): Promise<Uint8Array> {
  try {
    return await readMultipartFile(req);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'FST_FILES_LIMIT') {
      throw notOneFile('more than one file');
    }
    if (error instanceof ApiError || isClientError(error)) throw error;
    throw new ApiError(
      400,
      'E_INPUT',
      expectedMessage({
        what: 'a well-formed multipart body',
        where: 'POST /v1/predict',
        received: `a malformed one (${(error as Error).message})`,
        fix: 'send multipart/form-data with a boundary and one complete file part',
      }),
    );
  }
}

/** The image bytes of a predict request: a raw image body, or the one file of a multipart form. */
export async function readImageBody(req: FastifyRequest): Promise<Uint8Array> {
  if (req.isMultipart()) return readMultipartImage(req);
  const type = (req.headers['content-type'] ?? '').split(';', 1).join('').trim().toLowerCase();
  if (type && !IMAGE_CONTENT_TYPES.includes(type)) {
    throw new ApiError(
      415,
      'E_UNSUPPORTED_MEDIA',
      expectedMessage({
        what: `one of ${IMAGE_CONTENT_TYPES.join(', ')} or multipart/form-data`,
        where: 'the Content-Type header',
        received: JSON.stringify(type),
        fix: 'send the image with its own content type',
      }),
    );
  }
  if (!Buffer.isBuffer(req.body)) throw emptyBody();
  return req.body;
}
