/**
 * Test-time augmentation: `none` runs each image once; `hflip` averages the image and its mirror;
 * `flips` averages the image, its horizontal, vertical and both-axes flips.
 */
export type TtaMode = 'none' | 'hflip' | 'flips';

/** Valid TTA modes, for CLI choices and error messages. */
export const TTA_MODES: readonly TtaMode[] = ['none', 'hflip', 'flips'];

type Flip = { readonly h: boolean; readonly v: boolean };

const VIEWS: Readonly<Record<TtaMode, readonly Flip[]>> = {
  none: [{ h: false, v: false }],
  hflip: [
    { h: false, v: false },
    { h: true, v: false },
  ],
  flips: [
    { h: false, v: false },
    { h: true, v: false },
    { h: false, v: true },
    { h: true, v: true },
  ],
};

/** How many views of each image a mode runs. */
export function ttaViewCount(mode: TtaMode): number {
  return VIEWS[mode].length;
}

function flipInto(src: Uint8Array, dst: Uint8Array, w: number, h: number, flip: Flip): void {
  for (let y = 0; y < h; y++) {
    const sy = flip.v ? h - 1 - y : y;
    for (let x = 0; x < w; x++) {
      const sx = flip.h ? w - 1 - x : x;
      const s = (sy * w + sx) * 3;
      const d = (y * w + x) * 3;
      dst[d] = src[s];
      dst[d + 1] = src[s + 1];
      dst[d + 2] = src[s + 2];
    }
  }
}

/**
 * Expands an NHWC uint8 RGB batch of `count` images into `count * views` images, image-major
 * (image 0's views, then image 1's, ...).
 */
export function expandTta(batch: Uint8Array, count: number, w: number, h: number, mode: TtaMode): Uint8Array {
  const views = VIEWS[mode];
  if (views.length === 1) return batch;
  const size = w * h * 3;
  const out = new Uint8Array(size * count * views.length);
  for (let i = 0; i < count; i++) {
    const src = batch.subarray(i * size, (i + 1) * size);
    views.forEach((flip, v) => {
      flipInto(
        src,
        out.subarray((i * views.length + v) * size, (i * views.length + v + 1) * size),
        w,
        h,
        flip,
      );
    });
  }
  return out;
}

/** Averages `views` consecutive probability rows per image into one row per image. */
export function averageTta(
  probs: Float32Array,
  count: number,
  classes: number,
  views: number,
): Float32Array[] {
  const rows: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const row = new Float32Array(classes);
    for (let v = 0; v < views; v++) {
      const base = (i * views + v) * classes;
      for (let c = 0; c < classes; c++) row[c] += probs[base + c] / views;
    }
    rows.push(row);
  }
  return rows;
}
