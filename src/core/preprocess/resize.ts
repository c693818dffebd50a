import { expected } from '../errors.js';
import { at } from '../util/at.js';
import type { PreprocessSpec } from './spec.js';

/** Decoded interleaved 8-bit pixels: RGB (Node, sharp) or RGBA (browser canvas `ImageData`). */
export interface RawImage {
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
}

/** One axis of a placement: output span `[outStart, outStart + outLength)` shows source span `[srcStart, srcStart + srcLength)`. */
export interface AxisPlacement {
  readonly outStart: number;
  readonly outLength: number;
  readonly srcStart: number;
  readonly srcLength: number;
}

/** Where a source image lands in the output under a resize policy; output pixels outside it are black. */
export interface Placement {
  readonly x: AxisPlacement;
  readonly y: AxisPlacement;
}

type Geometry = Pick<PreprocessSpec, 'width' | 'height' | 'resize'>;

/**
 * The geometry of a resize policy. `stretch`: the whole source fills the output (aspect ignored). `crop`:
 * scale to cover the output, keep the centre. `pad`: scale to fit inside, centre, black bars on the sides.
 */
export function placeImage(srcWidth: number, srcHeight: number, spec: Geometry): Placement {
  const { width, height } = spec;
  if (spec.resize === 'stretch') {
    return { x: span(0, width, 0, srcWidth), y: span(0, height, 0, srcHeight) };
  }
  if (spec.resize === 'crop') {
    const scale = Math.max(width / srcWidth, height / srcHeight);
    const srcW = width / scale;
    const srcH = height / scale;
    return {
      x: span(0, width, (srcWidth - srcW) / 2, srcW),
      y: span(0, height, (srcHeight - srcH) / 2, srcH),
    };
  }
  const scale = Math.min(width / srcWidth, height / srcHeight);
  const outW = Math.min(width, Math.max(1, Math.round(srcWidth * scale)));
  const outH = Math.min(height, Math.max(1, Math.round(srcHeight * scale)));
  return {
    x: span(Math.floor((width - outW) / 2), outW, 0, srcWidth),
    y: span(Math.floor((height - outH) / 2), outH, 0, srcHeight),
  };
}

function span(outStart: number, outLength: number, srcStart: number, srcLength: number): AxisPlacement {
  return { outStart, outLength, srcStart, srcLength };
}

interface Taps {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly w: Float32Array;
}

/** Bilinear taps with half-pixel centres (as `tf.image.resizeBilinear(..., halfPixelCenters = true)`), edges clamped. */
function axisTaps(axis: AxisPlacement, srcSize: number): Taps {
  const i0 = new Int32Array(axis.outLength);
  const i1 = new Int32Array(axis.outLength);
  const w = new Float32Array(axis.outLength);
  const step = axis.srcLength / axis.outLength;
  for (let o = 0; o < axis.outLength; o++) {
    const s = Math.min(srcSize - 1, Math.max(0, (o + 0.5) * step + axis.srcStart - 0.5));
    const f = Math.floor(s);
    i0[o] = f;
    i1[o] = Math.min(f + 1, srcSize - 1);
    w[o] = s - f;
  }
  return { i0, i1, w };
}

/**
 * Resizes decoded pixels to `spec.width` x `spec.height` under `spec.resize` with bilinear interpolation
 * (half-pixel centres). Returns HWC RGB uint8 (alpha dropped: `preprocessDecoded` composites RGBA onto black
 * first). Pure TS, so the browser resizes exactly like Node. Meant for upscaling and downscaling up to ~2x;
 * shrink larger images first (sharp's shrink-on-load).
 */
export function resizeImage(image: RawImage, spec: Geometry): Uint8Array {
  checkImage(image);
  const place = placeImage(image.width, image.height, spec);
  const xt = axisTaps(place.x, image.width);
  const yt = axisTaps(place.y, image.height);
  const rows = horizontalPass(image, xt);
  const out = new Uint8Array(spec.width * spec.height * 3);
  const rowLen = place.x.outLength * 3;
  for (let y = 0; y < place.y.outLength; y++) {
    const a = at(yt.i0, y) * rowLen;
    const b = at(yt.i1, y) * rowLen;
    const wy = at(yt.w, y);
    let p = ((place.y.outStart + y) * spec.width + place.x.outStart) * 3;
    // Hot loop: a and b start source rows (taps are clamped to the image), each rowLen floats long.
    for (let k = 0; k < rowLen; k++) {
      const top = rows[a + k]!;
      out[p++] = (top + (rows[b + k]! - top) * wy + 0.5) | 0;
    }
  }
  return out;
}

/** Interpolates every source row along x to the output's content width: rows x outWidth x 3 floats. */
function horizontalPass(image: RawImage, xt: Taps): Float32Array {
  const { data, width, height, channels } = image;
  const outW = xt.w.length;
  const rows = new Float32Array(height * outW * 3);
  // Source offsets of both taps, computed once for all rows (the hot loop below is per pixel, channels unrolled).
  const o0 = new Int32Array(outW);
  const o1 = new Int32Array(outW);
  for (let x = 0; x < outW; x++) {
    o0[x] = at(xt.i0, x) * channels;
    o1[x] = at(xt.i1, x) * channels;
  }
  const w = xt.w;
  let q = 0;
  // Hot loop: o0, o1 and w hold outW entries, and the taps (clamped to the image) point at whole pixels of
  // a buffer that checkImage found to be width x height x channels.
  for (let r = 0; r < height; r++) {
    const base = r * width * channels;
    for (let x = 0; x < outW; x++) {
      const p0 = base + o0[x]!;
      const p1 = base + o1[x]!;
      const wx = w[x]!;
      const r0 = data[p0]!;
      const g0 = data[p0 + 1]!;
      const b0 = data[p0 + 2]!;
      rows[q] = r0 + (data[p1]! - r0) * wx;
      rows[q + 1] = g0 + (data[p1 + 1]! - g0) * wx;
      rows[q + 2] = b0 + (data[p1 + 2]! - b0) * wx;
      q += 3;
    }
  }
  return rows;
}

function checkImage(image: RawImage): void {
  const size = image.width * image.height * image.channels;
  if (image.width < 1 || image.height < 1 || image.data.length !== size) {
    throw expected({
      what: `${image.width}x${image.height}x${image.channels} = ${size} bytes`,
      where: 'the pixel buffer of resizeImage',
      received: `${image.data.length} bytes`,
      fix: 'pass the decoded width, height and channel count',
      code: 'E_INPUT',
    });
  }
}
