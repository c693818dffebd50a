import { describe, expect, it } from 'vitest';
import {
  averageViews,
  DIHEDRAL_VIEWS,
  describeViews,
  dihedralView,
  expandViews,
  TTA_MODES,
  viewImages,
  viewsOfMode,
} from '../../../src/core/preprocess/views.js';

// a 3 wide x 2 high image whose pixel (y, x) has red = 10·y + x
const W = 3;
const H = 2;
const rect = Uint8Array.from({ length: W * H * 3 }, (_, i) => {
  const p = Math.floor(i / 3);
  return i % 3 === 0 ? 10 * Math.floor(p / W) + (p % W) : 0;
});
const red = (img: Uint8Array, y: number, x: number) => img[(y * W + x) * 3];

describe('views (one implementation for training, Node and the browser)', () => {
  it('named sets are the first K recipe views, so --tta flips equals a 4-view recipe', () => {
    expect(TTA_MODES.map((m) => viewsOfMode(m).length)).toEqual([1, 2, 4, 8]);
    expect(viewsOfMode('flips')).toEqual(DIHEDRAL_VIEWS.slice(0, 4));
    expect(describeViews(viewsOfMode('hflip'))).toBe('identity+flip_h');
  });

  it('flips non-square images (the old Node flipInto) and refuses turns on them', () => {
    expect(red(viewImages(rect, 1, W, H, 'flip_h'), 0, 0)).toBe(red(rect, 0, 2));
    expect(red(viewImages(rect, 1, W, H, 'flip_v'), 0, 1)).toBe(red(rect, 1, 1));
    expect(red(viewImages(rect, 1, W, H, 'rot180'), 0, 0)).toBe(red(rect, 1, 2));
    expect(() => viewImages(rect, 1, W, H, 'rot90')).toThrow(
      'expected square images for the dihedral view rot90 but received 3x2; use flips only (none, hflip or flips)',
    );
  });

  it('expandViews lays views out image-major and equals dihedralView per image', () => {
    const size = 4;
    const two = Uint8Array.from({ length: 2 * size * size * 3 }, (_, i) => (i * 37) % 251);
    const views = DIHEDRAL_VIEWS.slice(0, 8);
    const out = expandViews(two, 2, size, size, views);
    const plane = size * size * 3;
    expect(out.length).toBe(2 * 8 * plane);
    for (let i = 0; i < 2; i++) {
      const image = two.subarray(i * plane, (i + 1) * plane);
      views.forEach((v, k) => {
        const at = (i * 8 + k) * plane;
        expect(Array.from(out.subarray(at, at + plane))).toEqual(Array.from(dihedralView(image, 1, size, v)));
      });
    }
    expect(expandViews(two, 2, size, size, ['identity'])).toBe(two);
  });

  it('averageViews means consecutive rows per image', () => {
    const rows = averageViews(Float32Array.from([1, 0, 0, 1, 0.5, 0.5, 0.5, 0.5]), 2, 2, 2);
    expect(rows.map((r) => Array.from(r))).toEqual([
      [0.5, 0.5],
      [0.5, 0.5],
    ]);
  });
});
