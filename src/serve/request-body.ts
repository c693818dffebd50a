import type { FastifyRequest } from 'fastify';
import { ApiError } from './api-error.js';
import { IMAGE_CONTENT_TYPES } from './image-check.js';

const ONE_FILE = 'send exactly one image per request as a file field';

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
      throw new ApiError(
        400,
        'E_INPUT',
        `multipart body has more than one file (fields "${image.field}" and "${part.fieldname}"); ${ONE_FILE}`,
      );
    }
    image = { field: part.fieldname, bytes: await part.toBuffer() };
  }
  if (!image) throw new ApiError(400, 'E_INPUT', `multipart body has no file part; ${ONE_FILE}`);
  return image.bytes;
}

/** {@link readMultipartFile}, with busboy's errors on a malformed body (no boundary, cut short) as 400s. */
async function readMultipartImage(req: FastifyRequest): Promise<Uint8Array> {
  try {
    return await readMultipartFile(req);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'FST_FILES_LIMIT') {
      throw new ApiError(400, 'E_INPUT', `multipart body has more than one file; ${ONE_FILE}`);
    }
    if (error instanceof ApiError || isClientError(error)) throw error;
    throw new ApiError(
      400,
      'E_INPUT',
      `malformed multipart body: ${(error as Error).message}; send multipart/form-data with a boundary and one complete file part`,
    );
  }
}

/** The image bytes of a predict request: a raw image body, or the one file of a multipart form. */
export async function readImageBody(req: FastifyRequest): Promise<Uint8Array> {
  if (req.isMultipart()) return readMultipartImage(req);
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type && !IMAGE_CONTENT_TYPES.includes(type)) {
    throw new ApiError(
      415,
      'E_UNSUPPORTED_MEDIA',
      `content type "${type}" is not accepted; send ${IMAGE_CONTENT_TYPES.join(', ')} or multipart/form-data`,
    );
  }
  if (!Buffer.isBuffer(req.body))
    throw new ApiError(400, 'E_INPUT', 'empty body; send a JPEG, PNG or WebP image');
  return req.body;
}
