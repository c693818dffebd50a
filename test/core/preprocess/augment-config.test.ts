import { describe, expect, it } from 'vitest';
import {
  DEFAULT_AUGMENT,
  hasGeometry,
  IDENTITY_AUGMENT,
  parseAugmentConfig,
} from '../../../src/core/preprocess/augment-config.js';
import { parsePreprocessSpec } from '../../../src/core/preprocess/spec-schema.js';

describe('parseAugmentConfig', () => {
  it('fills the documented defaults', () => {
    expect(parseAugmentConfig({})).toEqual({
      flip: true,
      rotate: 180,
      zoom: [0.8, 1.2],
      brightness: 0.1,
      contrast: 0.1,
      saturation: 0.1,
      hue: 0.02,
      fill: 'reflect',
      resolution: [1, 1],
      sharpness: 0,
      shadesOfGray: 0,
    });
    expect(parseAugmentConfig(undefined)).toEqual(DEFAULT_AUGMENT);
  });

  it('keeps given keys', () => {
    expect(parseAugmentConfig({ rotate: 30, fill: 'constant' })).toMatchObject({
      rotate: 30,
      fill: 'constant',
      flip: true,
    });
  });

  it('rejects unknown keys naming the allowed ones', () => {
    expect(() => parseAugmentConfig({ rotation: 30 })).toThrow(
      /^expected only the keys flip, rotate, zoom, .* for augment \(root\) but received the key "rotation"; remove it or fix the spelling$/,
    );
  });

  it('rejects a reversed zoom range and out-of-range values', () => {
    expect(() => parseAugmentConfig({ zoom: [1.2, 0.8] })).toThrow(
      /^expected a range \[min, max\] with min <= max for augment zoom but received \[1\.2,0\.8\]; allowed keys: /,
    );
    expect(() => parseAugmentConfig({ rotate: 270 })).toThrow(
      /^expected a number <= 180 for augment rotate but received 270; allowed keys: /,
    );
  });

  it('tells geometric configs apart', () => {
    expect(hasGeometry(IDENTITY_AUGMENT)).toBe(false);
    expect(hasGeometry({ ...IDENTITY_AUGMENT, zoom: [1, 1.1] })).toBe(true);
    expect(hasGeometry(DEFAULT_AUGMENT)).toBe(true);
  });
});

describe('parsePreprocessSpec', () => {
  it('accepts a spec and rejects a bad policy with E_CONFIG', () => {
    const spec = { width: 224, height: 224, resize: 'crop', colorConstancy: true };
    expect(parsePreprocessSpec(spec)).toEqual(spec);
    expect(() => parsePreprocessSpec({ ...spec, resize: 'squash' })).toThrow(
      'expected one of stretch, pad, crop for preprocess spec resize but received "squash"; a preprocess spec is { width, height, resize: stretch|pad|crop, colorConstancy }',
    );
    expect(() => parsePreprocessSpec({ ...spec, width: 0 })).toThrow(
      /^expected a number >= 1 for preprocess spec width but received 0; a preprocess spec is/,
    );
  });
});
