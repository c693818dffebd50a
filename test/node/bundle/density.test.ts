import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { measureDensityRule } from '../../../src/node/bundle/density.js';

const DIR = 'data/sample/ham10000/HAM10000_images_part_1';

describe('measureDensityRule', () => {
  it("records the training images' median size (HAM10000 here: 200x150) with the configured ratio", async () => {
    const paths = (await readdir(DIR)).filter((f) => f.endsWith('.jpg')).map((f) => join(DIR, f));
    expect(await measureDensityRule(paths, { sample: 8 })).toEqual({
      enabled: true,
      sourceWidth: 200,
      sourceHeight: 150,
      maxRatio: 1.25,
    });
    expect(await measureDensityRule(paths, { enabled: false, maxRatio: 2, sample: 2 })).toMatchObject({
      enabled: false,
      maxRatio: 2,
    });
    expect(await measureDensityRule([join(DIR, 'missing.jpg')])).toBeUndefined();
  });
});
