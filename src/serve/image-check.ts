import sharp from 'sharp';
import { expectedMessage } from '../core/errors.js';
import {
  type ImageHeader,
  readJpegHeader,
  type UprightSize,
  uprightSize,
} from '../core/format/jpeg-header.js';
import { ApiError, type ApiErrorCode } from './api-error.js';

/** Image formats the API accepts. */
export type ImageKind = 'jpeg' | 'png' | 'webp';

/** Content types the API accepts for a raw image body. */
export const IMAGE_CONTENT_TYPES: readonly string[] = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'application/octet-stream',
];

/** The image format named by the first bytes of `buf` (magic numbers), or undefined. */
export function sniffImageKind(buf: Uint8Array): ImageKind | undefined {
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (buf.length >= 8 && png.every((b, i) => buf[i] === b)) return 'png';
  const ascii = (from: number, to: number) => String.fromCharCode(...buf.subarray(from, to));
  if (buf.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return undefined;
}

/** Limits on the images the API decodes. */
export interface ImageLimits {
  /** Largest width or height accepted (default 8192). */
  readonly maxSide: number;
  /**
   * Largest width x height accepted (default 40 MP), passed to sharp as `limitInputPixels` for the headers it reads
   * and for the decode in decode workers.
   */
  readonly maxPixels: number;
}

const IMAGE = 'a JPEG, PNG or WebP image';

/** The 400 for a request without image bytes. */
export function emptyBody(): ApiError {
  return new ApiError(
    400,
    'E_INPUT',
    expectedMessage({
      what: IMAGE,
      where: 'the request body',
      received: 'an empty body',
      fix: `send ${IMAGE}`,
    }),
  );
}

/** A refused image: `expected <what> for the uploaded image but received <received>`, with its status and code. */
function refused(status: number, code: ApiErrorCode, what: string, received: string, fix?: string): ApiError {
  return new ApiError(status, code, expectedMessage({ what, where: 'the uploaded image', received, fix }));
}

/** Default image limits: 8192 px a side, 40 megapixels. */
export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxSide: 8192, maxPixels: 40_000_000 };

/** What {@link checkImage} read from an upload's header. */
export interface CheckedImage {
  readonly kind: ImageKind;
  /** Stored size, as the header declares it. */
  readonly width: number;
  readonly height: number;
  /** Size as shown, EXIF orientation applied: what the decoder plans its pre-shrink with. */
  readonly upright: UprightSize;
}

/**
 * Checks an uploaded image before any pixel is decoded: non-empty, a JPEG/PNG/WebP by its magic bytes,
 * and header dimensions within `limits` (decompression bombs are refused before they inflate). A plain JPEG
 * header is read in TypeScript (core `readJpegHeader`: the same SOF and Exif markers libvips reads); anything else,
 * or a JPEG header it will not vouch for, by sharp from the header only, with `limits.maxPixels` as its
 * `limitInputPixels`. Throws a 4xx {@link ApiError}; returns format and sizes.
 */
export async function checkImage(buf: Uint8Array, limits: ImageLimits): Promise<CheckedImage> {
  if (buf.length === 0) throw emptyBody();
  const kind = sniffImageKind(buf);
  if (!kind) {
    throw refused(415, 'E_UNSUPPORTED_MEDIA', IMAGE, 'bytes of another kind (checked its first bytes)');
  }
  const header =
    (kind === 'jpeg' ? readJpegHeader(buf) : undefined) ?? (await sharpHeader(buf, kind, limits));
  const { width, height } = header;
  if (width > limits.maxSide || height > limits.maxSide || width * height > limits.maxPixels) {
    throw refused(
      413,
      'E_IMAGE_TOO_LARGE',
      `at most ${limits.maxSide} px a side and ${limits.maxPixels} pixels`,
      `${width}x${height}`,
      'send a smaller image',
    );
  }
  return { kind, width, height, upright: uprightSize(header) };
}

/** The header as sharp reads it (size and orientation), or the 4xx for one it refuses or cannot read. */
async function sharpHeader(buf: Uint8Array, kind: ImageKind, limits: ImageLimits): Promise<ImageHeader> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(buf, { limitInputPixels: limits.maxPixels }).metadata();
  } catch (error) {
    const message = (error as Error).message;
    if (/pixel limit/i.test(message)) {
      throw refused(
        413,
        'E_IMAGE_TOO_LARGE',
        `at most ${limits.maxPixels} pixels`,
        `a header that declares more than ${limits.maxPixels} pixels`,
        'send a smaller image',
      );
    }
    throw refused(400, 'E_BAD_IMAGE', `a readable ${kind} header`, `one sharp cannot read (${message})`);
  }
  const { width = 0, height = 0, orientation = 1 } = meta;
  if (width < 1 || height < 1)
    throw refused(400, 'E_BAD_IMAGE', `a ${kind} header with a size`, 'one without');
  return { width, height, orientation };
}
