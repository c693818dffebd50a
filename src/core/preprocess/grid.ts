import { expected } from '../errors.js';
import type { RawImage } from './resize.js';

/** Layout of {@link tileImages}. */
export interface GridLayout {
  readonly tileWidth: number;
  readonly tileHeight: number;
  readonly columns: number;
  /** Pixels between tiles and around the edge (default 2). */
  readonly gap?: number;
  /** Grey level of the gaps (default 255, white). */
  readonly background?: number;
}

/** Lays HWC RGB tiles of one size out in a grid, row by row: a contact sheet for people to look at. */
export function tileImages(tiles: readonly Uint8Array[], layout: GridLayout): RawImage {
  const { tileWidth: tw, tileHeight: th, columns } = layout;
  const gap = layout.gap ?? 2;
  const cols = Math.max(1, Math.min(columns, tiles.length));
  const rows = Math.ceil(tiles.length / cols);
  const width = cols * tw + (cols + 1) * gap;
  const height = rows * th + (rows + 1) * gap;
  const data = new Uint8Array(width * height * 3).fill(layout.background ?? 255);
  tiles.forEach((tile, i) => {
    if (tile.length !== tw * th * 3) {
      throw expected({
        what: `${tw}x${th}x3 = ${tw * th * 3} bytes`,
        where: `tile ${i} of tileImages`,
        received: `${tile.length} bytes`,
        fix: 'resize every tile to the layout size',
        code: 'E_INPUT',
      });
    }
    const x0 = gap + (i % cols) * (tw + gap);
    const y0 = gap + Math.floor(i / cols) * (th + gap);
    for (let y = 0; y < th; y++)
      data.set(tile.subarray(y * tw * 3, (y + 1) * tw * 3), ((y0 + y) * width + x0) * 3);
  });
  return { data, width, height, channels: 3 };
}
