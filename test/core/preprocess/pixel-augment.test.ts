import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { augmentBatch, drawAugmentParams } from '../../../src/core/preprocess/augment.js';
import { IDENTITY_AUGMENT, parseAugmentConfig } from '../../../src/core/preprocess/augment-config.js';
import { drawPixelParams, pixelAugment } from '../../../src/core/preprocess/pixel-augment.js';

const W = 8;
const H = 6;
const image = Uint8Array.from({ length: 2 * W * H * 3 }, (_, i) => ((i * 53) % 200) + 20);

describe('scale, resolution and colour-constancy augmentation', () => {
  it('draws on its own stream: the geometric/colour draws are unchanged by the new keys', () => {
    const base = parseAugmentConfig({});
    const more = parseAugmentConfig({ resolution: [0.5, 1], sharpness: 0.5, shadesOfGray: 0.5 });
    expect(drawAugmentParams(4, more, 9)).toEqual(drawAugmentParams(4, base, 9));
    const p = drawPixelParams(200, more, 9);
    expect(p.every((x) => x.resolution >= 0.5 && x.resolution <= 1 && Math.abs(x.sharpness) <= 0.5)).toBe(
      true,
    );
    expect(p.filter((x) => x.shadesOfGray).length).toBeGreaterThan(60);
  });

  it('is the identity when off, changes pixels when on, and is seeded', () => {
    const off = pixelAugment(image, 2, W, H, IDENTITY_AUGMENT, 3);
    expect(Array.from(off)).toEqual(Array.from(image));
    const config = { ...IDENTITY_AUGMENT, resolution: [0.5, 0.5] as [number, number] };
    const half = pixelAugment(image, 2, W, H, config, 3);
    expect(Array.from(half)).not.toEqual(Array.from(image));
    expect(Array.from(pixelAugment(image, 2, W, H, config, 3))).toEqual(Array.from(half));
    // a flat image stays flat under down-up and sharpen/blur
    const flat = new Uint8Array(W * H * 3).fill(90);
    const both = { ...IDENTITY_AUGMENT, resolution: [0.4, 0.6] as [number, number], sharpness: 1 };
    expect(new Set(pixelAugment(flat, 1, W, H, both, 1))).toEqual(new Set([90]));
  });

  it('augmentBatch applies them after the tensor ops without leaking tensors', () => {
    const x = tf.tensor4d(Float32Array.from(image), [2, H, W, 3]);
    const before = tf.memory().numTensors;
    const config = { ...IDENTITY_AUGMENT, sharpness: 1 };
    const y = augmentBatch(x, config, 5);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(Array.from(y.dataSync())).toEqual(Array.from(pixelAugment(image, 2, W, H, config, 5)));
    tf.dispose([x, y]);
  });
});
