import type { DihedralView } from '../config/train-config.js';
import { LesionlabError } from '../errors.js';

/**
 * One exact dihedral view (flip / 90° rotation) of a batch of square NHWC uint8 images: pure pixel
 * permutation, so cached features of each view are as exact as the original image's.
 */
export function dihedralView(
  pixels: Uint8Array,
  count: number,
  size: number,
  view: DihedralView,
): Uint8Array {
  if (view === 'identity') return pixels;
  if (pixels.length !== count * size * size * 3) {
    throw new LesionlabError(
      'E_INPUT',
      `dihedral view ${view}: expected ${count} square ${size}x${size} RGB images (${count * size * size * 3} bytes), got ${pixels.length} bytes`,
    );
  }
  const out = new Uint8Array(pixels.length);
  const source = sourceIndex(view, size);
  const plane = size * size * 3;
  for (let n = 0; n < count; n++) {
    const base = n * plane;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const from = base + source(y, x) * 3;
        const to = base + (y * size + x) * 3;
        out[to] = pixels[from];
        out[to + 1] = pixels[from + 1];
        out[to + 2] = pixels[from + 2];
      }
    }
  }
  return out;
}

/** For output pixel (y, x), the source pixel's flat index y'·size + x'. */
function sourceIndex(view: DihedralView, size: number): (y: number, x: number) => number {
  const m = size - 1;
  switch (view) {
    case 'identity':
      return (y, x) => y * size + x;
    case 'flip_h':
      return (y, x) => y * size + (m - x);
    case 'flip_v':
      return (y, x) => (m - y) * size + x;
    case 'rot180':
      return (y, x) => (m - y) * size + (m - x);
    case 'rot90':
      return (y, x) => x * size + (m - y);
    case 'rot270':
      return (y, x) => (m - x) * size + y;
    case 'transpose':
      return (y, x) => x * size + y;
    case 'transverse':
      return (y, x) => (m - x) * size + (m - y);
  }
}
