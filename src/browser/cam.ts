/** One class's activation map: `width` x `height` values, row-major. */
export interface ClassMap {
  readonly values: Float32Array;
  readonly width: number;
  readonly height: number;
}

/** Slices class `classIndex` of image 0 out of a `cam` output of dims `[N, h, w, classes]`. */
export function camForClass(cam: Float32Array, dims: readonly number[], classIndex: number): ClassMap {
  const [, height = 0, width = 0, classes = 0] = dims;
  const values = new Float32Array(width * height);
  // Per-pixel loop: dims describe cam, so every pixel has `classes` entries.
  for (let i = 0; i < width * height; i++) values[i] = cam[i * classes + classIndex]!;
  return { values, width, height };
}

/** A perceptual blue-to-red ramp (turbo-like), `t` in [0, 1] to RGB 0..255. */
export function heatColor(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t));
  const r = Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * x - 3))));
  const g = Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * x - 2))));
  const b = Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * x - 1))));
  return [r, g, b];
}

/**
 * RGBA pixels of a heatmap for `map`, min-max normalised; alpha grows with activation (up to
 * `maxAlpha`), so low-activation areas leave the image visible.
 */
export function heatmapRgba(map: ClassMap, maxAlpha = 150): Uint8ClampedArray<ArrayBuffer> {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of map.values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = hi - lo || 1;
  const out = new Uint8ClampedArray(map.values.length * 4);
  map.values.forEach((v, i) => {
    const t = (v - lo) / span;
    const [r, g, b] = heatColor(t);
    out.set([r, g, b, Math.round(maxAlpha * (0.1 + 0.9 * t))], i * 4);
  });
  return out;
}

/** A CSS `linear-gradient` of {@link heatColor} from low (left) to high (right): the heatmap's colour scale. */
export function heatScaleGradient(stops = 9): string {
  const colours = Array.from({ length: stops }, (_, i) => {
    const [r, g, b] = heatColor(i / (stops - 1));
    return `rgb(${r}, ${g}, ${b}) ${((i / (stops - 1)) * 100).toFixed(1)}%`;
  });
  return `linear-gradient(to right, ${colours.join(', ')})`;
}
