import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { expected, type LesionlabError } from '../../core/errors.js';
import { type UprightSize, uprightSize } from '../../core/format/jpeg-header.js';
import { flattenOnBlack, preprocessDecoded, preshrinkBox } from '../../core/preprocess/decoding.js';
import type { DensityRule } from '../../core/preprocess/density.js';
import type { RawImage } from '../../core/preprocess/resize.js';
import type { PreprocessSpec } from '../../core/preprocess/spec.js';

type Sharp = typeof import('sharp');

let sharpModule: Promise<Sharp> | undefined;

/** sharp, loaded once on first use (native modules load lazily, so importing lesionlab stays cheap). */
export function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then((m) => m.default);
  return sharpModule;
}

/** What a caller that has checked an upload already knows and wants (the server's upload check). */
export interface DecodeHints {
  /** The image's upright size, read from its header: no second header read. */
  readonly upright?: UprightSize;
  /** Refuse (E_BAD_IMAGE) an image of more pixels than this, as sharp's `limitInputPixels`, before decoding it. */
  readonly maxPixels?: number;
}

/**
 * The image's upright size (EXIF orientation applied) when the density rule is on and so needs it to choose
 * the pre-shrink: `known` when the caller read the header already, else sharp's; undefined when the rule is off
 * (no header read) or the size is unknown.
 */
async function ruleSize(
  open: () => ReturnType<Sharp>,
  rule: DensityRule | undefined,
  known: UprightSize | undefined,
): Promise<UprightSize | undefined> {
  if (!rule?.enabled) return undefined;
  if (known) return known;
  const { width, height, orientation = 1 } = await open().metadata();
  if (!width || !height) return undefined;
  return uprightSize({ width, height, orientation });
}

/**
 * Decodes an image (JPEG, PNG, WebP, TIFF, ...; EXIF orientation applied, alpha flattened onto black by core
 * `flattenOnBlack` exactly as the page does, greyscale/CMYK converted to sRGB) to interleaved 8-bit RGB.
 * sharp shrinks large images on load (JPEG shrink-on-load + lanczos3) into the core pre-shrink rule's box
 * (`preshrinkBox`): about twice `box`, or, when the density rule will bring the image down, a shrink by 2, 4
 * or 8 (for a JPEG the DCT alone does it, no resampling filter); smaller ones stay as they are.
 * `name` labels errors when `input` is a buffer; `hints` come from a caller that has checked the image already.
 */
export async function decodeRaw(
  input: string | Uint8Array,
  box: Pick<PreprocessSpec, 'width' | 'height' | 'resize' | 'density'>,
  name?: string,
  hints: DecodeHints = {},
): Promise<RawImage> {
  const label = typeof input === 'string' ? input : (name ?? 'image buffer');
  const bytes = typeof input === 'string' ? await readImageFile(input) : input;
  const sharp = await loadSharp();
  try {
    const limit = hints.maxPixels === undefined ? {} : { limitInputPixels: hints.maxPixels };
    const open = () => sharp(bytes, limit);
    const size = await ruleSize(open, box.density, hints.upright);
    const { data, info } = await open()
      .rotate()
      .resize({ ...preshrinkBox(box, size), withoutEnlargement: true })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const { channels } = info;
    if (channels !== 3 && channels !== 4) throw new Error(`decoded to ${channels} channels, expected 3 or 4`);
    const pixels = new Uint8Array(data.buffer, data.byteOffset, data.length);
    // alpha composited onto black by core, as the page does it (sharp's flatten floors, the page cannot)
    return flattenOnBlack({ data: pixels, width: info.width, height: info.height, channels });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw expected({
      what: 'an image lesionlab can decode',
      where: label,
      received: `a file it cannot decode (${reason})`,
      // prepare-image-cache.ts swaps "or skip bad images" for the caller's own advice
      fix: 'replace or remove the file, or skip bad images',
      code: 'E_BAD_IMAGE',
      cause: error,
    });
  }
}

/**
 * Decodes and preprocesses one image to the model's input: HWC RGB uint8 of `spec.height x spec.width x 3`.
 * Order: decode (with the pre-shrink of {@link decodeRaw}), then core `preprocessDecoded`: the pixel-density
 * rule when `spec.density` is on, Shades-of-Gray colour constancy when `spec.colorConstancy`, then a bilinear
 * resize under `spec.resize` (`pad` pads with black). Throws `E_MISSING_FILE` or `E_BAD_IMAGE` naming the file.
 * `name` and `hints` as in {@link decodeRaw}.
 */
export async function decodeImage(
  input: string | Uint8Array,
  spec: PreprocessSpec,
  name?: string,
  hints?: DecodeHints,
): Promise<Uint8Array> {
  return preprocessDecoded(await decodeRaw(input, spec, name, hints), spec);
}

async function readImageFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw readError(path, error);
  }
}

/**
 * Reads an image file synchronously, with the same errors as `decodeImage(path)`: `E_MISSING_FILE` or
 * `E_BAD_IMAGE` naming the file. For worker threads, where a blocking read of a small file costs a
 * tenth of an asynchronous one; pass the bytes to `decodeImage(bytes, spec, path)`.
 */
export function readImageFileSync(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    throw readError(path, error);
  }
}

function readError(path: string, error: unknown): LesionlabError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return expected({
      what: 'an image file',
      where: path,
      received: 'no such file',
      fix: 'check the dataset root and the image id',
      code: 'E_MISSING_FILE',
      cause: error,
    });
  }
  return expected({
    what: 'a readable image file',
    where: path,
    received: `a file that cannot be read (${code ?? String(error)})`,
    fix: 'check the file and its permissions',
    code: 'E_BAD_IMAGE',
    cause: error,
  });
}
