import { describe, expect, it } from 'vitest';
import { tileImages } from '../../../src/core/preprocess/grid.js';

describe('tileImages', () => {
  it('lays tiles out row by row with gaps of the background colour', () => {
    const tile = (v: number): Uint8Array => new Uint8Array(2 * 1 * 3).fill(v);
    const grid = tileImages([tile(10), tile(20), tile(30)], {
      tileWidth: 2,
      tileHeight: 1,
      columns: 2,
      gap: 1,
      background: 255,
    });
    expect([grid.width, grid.height]).toEqual([2 * 2 + 3, 2 * 1 + 3]);
    const at = (x: number, y: number): number => grid.data[(y * grid.width + x) * 3];
    expect([at(0, 0), at(1, 1), at(2, 1), at(3, 1), at(4, 1), at(6, 1)]).toEqual([255, 10, 10, 255, 20, 255]);
    expect([at(1, 3), at(4, 3)]).toEqual([30, 255]);
  });

  it('rejects a tile of the wrong size', () => {
    expect(() => tileImages([new Uint8Array(5)], { tileWidth: 2, tileHeight: 1, columns: 1 })).toThrow(
      /tile 0 holds 5 bytes, expected 2x1x3 = 6/,
    );
  });
});
