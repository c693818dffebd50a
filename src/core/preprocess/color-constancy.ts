/** Minkowski norm order of Shades-of-Gray: p = 6 (Finlayson & Trezzi 2004; the ISIC 2018/2019 winners' choice). */
export const SHADES_OF_GRAY_P = 6;

/**
 * Shades-of-Gray illuminant of interleaved 8-bit pixels: per channel `e_c = (mean(x_c^p))^(1/p)` over all
 * pixels, on the 0..255 scale. `channels` is 3 (RGB) or 4 (RGBA; alpha is ignored).
 */
export function estimateIlluminant(
  pixels: Uint8Array | Uint8ClampedArray,
  channels: 3 | 4 = 3,
  p = SHADES_OF_GRAY_P,
): [number, number, number] {
  const pow = new Float64Array(256);
  for (let v = 0; v < 256; v++) pow[v] = (v / 255) ** p;
  let r = 0;
  let g = 0;
  let b = 0;
  // Hot loop: whole pixels of `channels` bytes, and `pow` has an entry for every byte value.
  for (let i = 0; i < pixels.length; i += channels) {
    r += pow[pixels[i]!]!;
    g += pow[pixels[i + 1]!]!;
    b += pow[pixels[i + 2]!]!;
  }
  const n = Math.max(1, pixels.length / channels);
  return [255 * (r / n) ** (1 / p), 255 * (g / n) ** (1 / p), 255 * (b / n) ** (1 / p)];
}

/**
 * Per-channel gains that map the illuminant to grey: `mean(e) / e_c`. A channel whose estimate is 0 (all
 * black) keeps gain 1, and so does every channel of an all-black image.
 */
export function grayWorldGains(illuminant: readonly [number, number, number]): [number, number, number] {
  const mean = (illuminant[0] + illuminant[1] + illuminant[2]) / 3;
  const gain = (e: number): number => (e > 0 && mean > 0 ? mean / e : 1);
  return [gain(illuminant[0]), gain(illuminant[1]), gain(illuminant[2])];
}

/**
 * Shades-of-Gray colour constancy (p = 6) of interleaved 8-bit pixels: estimates the illuminant, scales each
 * channel by `mean(e) / e_c`, rounds and clips to 255. Returns a new array (alpha, if any, is copied).
 */
export function shadesOfGray(
  pixels: Uint8Array | Uint8ClampedArray,
  channels: 3 | 4 = 3,
  p = SHADES_OF_GRAY_P,
): Uint8Array {
  const [gainR, gainG, gainB] = grayWorldGains(estimateIlluminant(pixels, channels, p));
  const [r, g, b] = [gainTable(gainR), gainTable(gainG), gainTable(gainB)];
  const out = new Uint8Array(pixels.length);
  // Hot loop: whole pixels of `channels` bytes, and each table has an entry for every byte value.
  for (let i = 0; i < pixels.length; i += channels) {
    out[i] = r[pixels[i]!]!;
    out[i + 1] = g[pixels[i + 1]!]!;
    out[i + 2] = b[pixels[i + 2]!]!;
    if (channels === 4) out[i + 3] = pixels[i + 3]!;
  }
  return out;
}

/** Byte value -> the value times `gain`, rounded and clipped to 255. */
function gainTable(gain: number): Uint8Array {
  const table = new Uint8Array(256);
  for (let v = 0; v < 256; v++) table[v] = Math.min(255, Math.round(v * gain));
  return table;
}
