import { expected } from '../errors.js';

/**
 * The eight exact dihedral views of an image (flips x 90° rotations), in the order a recipe of `K` views takes
 * them: the first 2 are the image and its mirror, the first 4 add the vertical flip and the 180° rotation.
 */
export const DIHEDRAL_VIEWS = [
  'identity',
  'flip_h',
  'flip_v',
  'rot180',
  'rot90',
  'rot270',
  'transpose',
  'transverse',
] as const;

/** One exact dihedral view. */
export type DihedralView = (typeof DIHEDRAL_VIEWS)[number];

/**
 * Named sets of test-time views: `none` the image only; `hflip` adds its mirror; `flips` the four flips
 * (identity, horizontal, vertical, both = 180°); `dihedral` all eight flips x rotations (square inputs).
 */
export type TtaMode = 'none' | 'hflip' | 'flips' | 'dihedral';

/** Valid named view sets, for CLI choices and error messages. */
export const TTA_MODES: readonly TtaMode[] = ['none', 'hflip', 'flips', 'dihedral'];

const MODE_VIEWS: Readonly<Record<TtaMode, number>> = { none: 1, hflip: 2, flips: 4, dihedral: 8 };

/** The views of a named set, in recipe order (the first `K` of {@link DIHEDRAL_VIEWS}). */
export function viewsOfMode(mode: TtaMode): readonly DihedralView[] {
  return DIHEDRAL_VIEWS.slice(0, MODE_VIEWS[mode]);
}

/** Short label of a list of views for outputs: `identity+flip_h+flip_v+rot180`. */
export function describeViews(views: readonly DihedralView[]): string {
  return views.join('+');
}

/** Views that keep a non-square image's shape (no 90° turns or transposes). */
const SHAPE_KEEPING: ReadonlySet<DihedralView> = new Set(['identity', 'flip_h', 'flip_v', 'rot180']);

/**
 * One exact dihedral view (flip / 90° rotation) of a batch of NHWC uint8 RGB images of `width` x `height`:
 * a pure pixel permutation. Turns and transposes need square images. Returns the input itself for `identity`.
 */
export function viewImages(
  pixels: Uint8Array,
  count: number,
  width: number,
  height: number,
  view: DihedralView,
): Uint8Array {
  checkViewInput(pixels, count, width, height, view);
  if (view === 'identity') return pixels;
  const out = new Uint8Array(pixels.length);
  const source = sourceIndex(view, width, height);
  const plane = width * height * 3;
  // Hot loop: checkViewInput found count x width x height x 3 bytes, and source(y, x) is a pixel of the image.
  for (let n = 0; n < count; n++) {
    const base = n * plane;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const from = base + source(y, x) * 3;
        const to = base + (y * width + x) * 3;
        out[to] = pixels[from]!;
        out[to + 1] = pixels[from + 1]!;
        out[to + 2] = pixels[from + 2]!;
      }
    }
  }
  return out;
}

/** {@link viewImages} of square `size` x `size` images (the feature cache's and the models' inputs). */
export function dihedralView(
  pixels: Uint8Array,
  count: number,
  size: number,
  view: DihedralView,
): Uint8Array {
  return viewImages(pixels, count, size, size, view);
}

function checkViewInput(
  pixels: Uint8Array,
  count: number,
  width: number,
  height: number,
  view: DihedralView,
): void {
  if (pixels.length !== count * width * height * 3) {
    throw expected({
      what: `${count} ${width === height ? 'square ' : ''}${width}x${height} RGB images (${count * width * height * 3} bytes)`,
      where: `the dihedral view ${view}`,
      received: `${pixels.length} bytes`,
      fix: 'pass NHWC uint8 RGB',
      code: 'E_INPUT',
    });
  }
  if (width !== height && !SHAPE_KEEPING.has(view)) {
    throw expected({
      what: 'square images',
      where: `the dihedral view ${view}`,
      received: `${width}x${height}`,
      fix: 'use flips only (none, hflip or flips)',
      code: 'E_INPUT',
    });
  }
}

/** For output pixel (y, x), the source pixel's flat index y'·width + x'. */
function sourceIndex(view: DihedralView, width: number, height: number): (y: number, x: number) => number {
  const mx = width - 1;
  const my = height - 1;
  switch (view) {
    case 'identity':
      return (y, x) => y * width + x;
    case 'flip_h':
      return (y, x) => y * width + (mx - x);
    case 'flip_v':
      return (y, x) => (my - y) * width + x;
    case 'rot180':
      return (y, x) => (my - y) * width + (mx - x);
    case 'rot90':
      return (y, x) => x * width + (mx - y);
    case 'rot270':
      return (y, x) => (mx - x) * width + y;
    case 'transpose':
      return (y, x) => x * width + y;
    case 'transverse':
      return (y, x) => (mx - x) * width + (my - y);
  }
}

/**
 * Expands an NHWC uint8 RGB batch of `count` images into `count * views.length` images, image-major
 * (image 0's views, then image 1's, ...). One view returns the batch itself.
 */
export function expandViews(
  batch: Uint8Array,
  count: number,
  width: number,
  height: number,
  views: readonly DihedralView[],
): Uint8Array {
  if (views.length === 1 && views[0] === 'identity') return batch;
  const size = width * height * 3;
  const out = new Uint8Array(size * count * views.length);
  for (let i = 0; i < count; i++) {
    const src = batch.subarray(i * size, (i + 1) * size);
    views.forEach((view, v) => {
      out.set(viewImages(src, 1, width, height, view), (i * views.length + v) * size);
    });
  }
  return out;
}

/** Averages `views` consecutive probability rows per image into one row per image. */
export function averageViews(
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
      // Per-class loop: row has `classes` entries and the session returned count x views rows of them.
      for (let c = 0; c < classes; c++) row[c] = row[c]! + probs[base + c]! / views;
    }
    rows.push(row);
  }
  return rows;
}
