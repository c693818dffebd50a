import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { FitEnum } from 'sharp';
import { LesionlabError } from '../../core/errors.js';
import { shadesOfGray } from '../../core/preprocess/color-constancy.js';
import {
  applyDensity,
  type DensityRule,
  densityPreshrinkSide,
  densityTarget,
} from '../../core/preprocess/density.js';
import { type RawImage, resizeImage } from '../../core/preprocess/resize.js';
import type { PreprocessSpec, ResizePolicy } from '../../core/preprocess/spec.js';

type Sharp = typeof import('sharp');

let sharpModule: Promise<Sharp> | undefined;

/** sharp, loaded once on first use (native modules load lazily, so importing lesionlab stays cheap). */
export function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then((m) => m.default);
  return sharpModule;
}

/** How sharp pre-shrinks a large image so that the bilinear resize after it never shrinks by more than 2x. */
const PRESHRINK_FIT: Readonly<Record<ResizePolicy, keyof FitEnum>> = {
  stretch: 'fill',
  crop: 'outside',
  pad: 'inside',
};

/**
 * sharp's pre-shrink: to just over twice the model box, or with an active density rule, aspect kept, to a
 * short side of {@link densityPreshrinkSide} (so that the rule, not sharp, brings the image to the training density).
 */
/**
 * The pre-shrink for one image: the density rule's when the rule will bring this image down (aspect kept,
 * short side to `densityPreshrinkSide`), else the model's own (about twice its input), so an image the rule
 * leaves alone decodes exactly as in training, where the rule never runs.
 */
function preshrink(box: Pick<PreprocessSpec, 'width' | 'height' | 'resize'>, density?: DensityRule) {
  if (density) {
    const side = densityPreshrinkSide(density);
    return { width: side, height: side, fit: 'outside' as const, withoutEnlargement: true };
  }
  return {
    width: 2 * box.width,
    height: 2 * box.height,
    fit: PRESHRINK_FIT[box.resize],
    withoutEnlargement: true,
  };
}

/** The density rule when it is on and will shrink this image (EXIF orientation applied), else undefined. */
async function densityFor(
  sharp: Sharp,
  bytes: Uint8Array,
  rule: DensityRule | undefined,
): Promise<DensityRule | undefined> {
  if (!rule?.enabled) return undefined;
  const m = await sharp(bytes).metadata();
  if (!m.width || !m.height) return rule;
  const turned = (m.orientation ?? 1) >= 5;
  const [w, h] = turned ? [m.height, m.width] : [m.width, m.height];
  return densityTarget(w, h, rule) === undefined ? undefined : rule;
}

/**
 * Decodes an image (JPEG, PNG, WebP, TIFF, ...; EXIF orientation applied, alpha flattened onto black,
 * greyscale/CMYK converted to sRGB) to interleaved 8-bit RGB. Images larger than twice `box` are shrunk by
 * sharp on load (JPEG shrink-on-load + lanczos3) to just over twice `box`; smaller ones stay as they are.
 * `name` labels errors when `input` is a buffer.
 */
export async function decodeRaw(
  input: string | Uint8Array,
  box: Pick<PreprocessSpec, 'width' | 'height' | 'resize' | 'density'>,
  name?: string,
): Promise<RawImage> {
  const label = typeof input === 'string' ? input : (name ?? 'image buffer');
  const bytes = typeof input === 'string' ? await readImageFile(input) : input;
  const sharp = await loadSharp();
  try {
    const density = await densityFor(sharp, bytes, box.density);
    const { data, info } = await sharp(bytes)
      .rotate()
      .resize(preshrink(box, density))
      .flatten({ background: { r: 0, g: 0, b: 0 } })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
      channels: 3,
    };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new LesionlabError(
      'E_BAD_IMAGE',
      `${label}: cannot decode image (${reason}); replace or remove the file, or skip bad images`,
      { cause: error },
    );
  }
}

/**
 * Decodes and preprocesses one image to the model's input: HWC RGB uint8 of `spec.height x spec.width x 3`.
 * Order: decode (with shrink-on-load for images over twice the target), the pixel-density rule when
 * `spec.density` is on (denser inputs area-downscaled to the training short side), then Shades-of-Gray colour constancy
 * on the decoded pixels (when `spec.colorConstancy`), then a bilinear resize under `spec.resize`
 * (see `resizeImage`; `pad` pads with black). Throws `E_MISSING_FILE` or `E_BAD_IMAGE` naming the file.
 */
export async function decodeImage(
  input: string | Uint8Array,
  spec: PreprocessSpec,
  name?: string,
): Promise<Uint8Array> {
  const raw = applyDensity(await decodeRaw(input, spec, name), spec.density);
  const balanced = spec.colorConstancy ? { ...raw, data: shadesOfGray(raw.data, 3) } : raw;
  return resizeImage(balanced, spec);
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
    return new LesionlabError(
      'E_MISSING_FILE',
      `${path}: image file not found; check the dataset root and the image id`,
      { cause: error },
    );
  }
  return new LesionlabError('E_BAD_IMAGE', `${path}: cannot read image file (${code ?? String(error)})`, {
    cause: error,
  });
}
