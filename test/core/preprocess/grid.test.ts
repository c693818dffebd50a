import { describe, expect, it } from 'vitest';
import { tileImages } from '../../../src/core/preprocess/grid.js';
import { at } from '../../../src/core/util/at.js';

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
    const red = (x: number, y: number): number => at(grid.data, (y * grid.width + x) * 3);
    expect([red(0, 0), red(1, 1), red(2, 1), red(3, 1), red(4, 1), red(6, 1)]).toEqual([
      255, 10, 10, 255, 20, 255,
    ]);
    expect([red(1, 3), red(4, 3)]).toEqual([30, 255]);
  });

  it('rejects a tile of the wrong size', () => {
    expect(() => tileImages([new Uint8Array(5)], { tileWidth: 2, tileHeight: 1, columns: 1 })).toThrow(
      'expected 2x1x3 = 6 bytes for tile 0 of tileImages but received 5 bytes; resize every tile to the layout size',
    );
  });
});
