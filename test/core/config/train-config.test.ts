import { describe, expect, it } from 'vitest';
import {
  applyConfigOverrides,
  parseOverride,
  parseTrainConfig,
  splitOverrides,
  TrainConfigSchema,
} from '../../../src/core/config/train-config.js';
import { at } from '../../../src/core/util/at.js';

describe('parseTrainConfig', () => {
  it('fills every default from an empty object', () => {
    const config = parseTrainConfig({});
    expect(config.seed).toBe(42);
    expect(config.model.backbone).toBe('mobilenet_v1');
    expect(config.train.earlyStopping).toEqual({ patience: 8, minDelta: 1e-4 });
    expect(config.train.logitAdjustment.mode).toBe('none');
    expect(config.features.engine).toBe('onnx');
    expect(TrainConfigSchema.parse(config)).toEqual(config);
  });

  it('keeps given values', () => {
    const config = parseTrainConfig({
      train: { epochs: 3, reduceLr: { factor: 0.1 } },
      features: { views: 8 },
    });
    expect(config.train.epochs).toBe(3);
    expect(config.train.reduceLr).toEqual({ patience: 3, factor: 0.1, minLr: 1e-6 });
    expect(config.features.views).toBe(8);
  });

  it('names the bad key and what it got', () => {
    expect(() => parseTrainConfig({ train: { epochs: 'ten' } })).toThrow(
      /^expected a number for config train\.epochs but received "ten"; `lesionlab train --print-config` prints/,
    );
    expect(() => parseTrainConfig({ features: { views: 9 } })).toThrow(
      'expected a number <= 8 for config features.views but received 9',
    );
  });

  it('rejects unknown keys and lists the allowed ones', () => {
    expect(() => parseTrainConfig({ train: { epoch: 3 } }, 'run.json')).toThrow(
      /^expected only the keys epochs, batchSize, .* for run\.json train but received the key "epoch"; remove it/,
    );
    try {
      parseTrainConfig({ bogus: 1 });
      expect.unreachable();
    } catch (error) {
      expect((error as { code: string }).code).toBe('E_CONFIG');
    }
  });
});

describe('config overrides', () => {
  it('sets dotted keys without touching the base', () => {
    const base = { train: { epochs: 5, batchSize: 8 } };
    const out = applyConfigOverrides(base, { 'train.epochs': 2, 'model.backbone': 'tiny', 'x.y': undefined });
    expect(out).toEqual({ train: { epochs: 2, batchSize: 8 }, model: { backbone: 'tiny' } });
    expect(base.train.epochs).toBe(5);
  });

  it('parses key=value with numbers and booleans', () => {
    expect(parseOverride('train.epochs=5')).toEqual(['train.epochs', 5]);
    expect(parseOverride('features.tta=false')).toEqual(['features.tta', false]);
    expect(parseOverride('model.backbone=mobilenet_v1')).toEqual(['model.backbone', 'mobilenet_v1']);
    expect(() => parseOverride('epochs')).toThrow(
      'expected key=value for --set but received "epochs"; e.g. --set train.epochs=5',
    );
  });

  it('parses JSON lists and splits pairs only at top-level commas', () => {
    const text =
      'model.taps=["conv_pw_5_relu","conv_pw_11_relu"],train.epochs=3,features.augment={"rotate":90,"hue":0}';
    const pairs = splitOverrides(text);
    expect(pairs).toHaveLength(3);
    expect(parseOverride(at(pairs, 0))).toEqual(['model.taps', ['conv_pw_5_relu', 'conv_pw_11_relu']]);
    expect(parseOverride(at(pairs, 2))).toEqual(['features.augment', { rotate: 90, hue: 0 }]);
    expect(parseTrainConfig({ model: { taps: ['conv_pw_5_relu'] } }).model.taps).toEqual(['conv_pw_5_relu']);
    expect(() => parseOverride('model.taps=[conv_pw_5_relu]')).toThrow(
      /^expected valid JSON for --set model\.taps but received \[conv_pw_5_relu\]; write lists like/,
    );
  });
});
