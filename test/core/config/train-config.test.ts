import { describe, expect, it } from 'vitest';
import {
  applyConfigOverrides,
  configKeyNames,
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

describe('parseTrainConfig: keys checked together, before any work', () => {
  it('refuses fineTune.trainBlocks above fineTune.blocks, naming both', () => {
    expect(() => parseTrainConfig({ fineTune: { enabled: true, blocks: 2, trainBlocks: 5 } })).toThrow(
      'expected a number from 1 to fineTune.blocks (2) for config fineTune.trainBlocks but received 5; the unfrozen blocks lie in the tail: lower fineTune.trainBlocks to at most 2, or raise fineTune.blocks to 5',
    );
    expect(() => parseTrainConfig({ fineTune: { trainBlocks: 3 } })).toThrow(
      /for config fineTune\.trainBlocks but received 3/,
    );
    expect(parseTrainConfig({ fineTune: { blocks: 4, trainBlocks: 4 } }).fineTune.trainBlocks).toBe(4);
    expect(parseTrainConfig({ fineTune: { blocks: 4, trainBlocks: 1 } }).fineTune.trainBlocks).toBe(1);
  });

  it('defaults stage 2 to the plateau rule and checks the cosine schedule keys', () => {
    const plain = parseTrainConfig({ fineTune: { enabled: true } }).fineTune;
    expect([plain.schedule, plain.warmupEpochs, plain.minLrFactor]).toEqual(['plateau', 0, 0]);
    // warm-up defaults to one epoch under the cosine schedule, and can be set under either
    expect(parseTrainConfig({ fineTune: { schedule: 'cosine' } }).fineTune.warmupEpochs).toBe(1);
    expect(parseTrainConfig({ fineTune: { warmupEpochs: 2 } }).fineTune.warmupEpochs).toBe(2);
    const cosine = parseTrainConfig({
      fineTune: { schedule: 'cosine', warmupEpochs: 0.5, minLrFactor: 0.1 },
    }).fineTune;
    expect([cosine.schedule, cosine.warmupEpochs, cosine.minLrFactor]).toEqual(['cosine', 0.5, 0.1]);
    expect(() => parseTrainConfig({ fineTune: { schedule: 'linear' } })).toThrow(
      /config fineTune\.schedule but received "linear"/,
    );
    expect(() => parseTrainConfig({ fineTune: { minLrFactor: 2 } })).toThrow(
      /config fineTune\.minLrFactor but received 2/,
    );
  });

  it('takes label smoothing in [0, 1), off by default', () => {
    expect(parseTrainConfig({}).train.labelSmoothing).toBe(0);
    expect(parseTrainConfig({ train: { labelSmoothing: 0.1 } }).train.labelSmoothing).toBe(0.1);
    expect(() => parseTrainConfig({ train: { labelSmoothing: 1 } })).toThrow(/config train\.labelSmoothing/);
  });

  it('takes stage 2 weight averaging as a decay in [0, 1), off by default', () => {
    expect(parseTrainConfig({}).fineTune.weightAverage).toBe(0);
    expect(parseTrainConfig({ fineTune: { weightAverage: 0.998 } }).fineTune.weightAverage).toBe(0.998);
    expect(() => parseTrainConfig({ fineTune: { weightAverage: 1 } })).toThrow(
      /config fineTune\.weightAverage/,
    );
  });

  it('takes stage 2 mixup as a non-negative alpha, off by default', () => {
    expect(parseTrainConfig({}).fineTune.mixup).toBe(0);
    expect(parseTrainConfig({ fineTune: { mixup: 0.2 } }).fineTune.mixup).toBe(0.2);
    expect(() => parseTrainConfig({ fineTune: { mixup: -1 } })).toThrow(
      /config fineTune\.mixup but received -1/,
    );
  });

  it('checks both augmentation blocks with the augmentation schema', () => {
    expect(() =>
      parseTrainConfig({ fineTune: { enabled: true, augment: { rotate: 500 } } }, 'ft.json'),
    ).toThrow(
      /^expected a number <= 180 for ft\.json fineTune\.augment\.rotate but received 500; allowed keys: flip, rotate, zoom, /,
    );
    expect(() => parseTrainConfig({ fineTune: { augment: { rotation: 90 } } })).toThrow(
      /^expected only the keys flip, rotate, zoom, .* for config fineTune\.augment but received the key "rotation"; remove it or fix the spelling$/,
    );
    expect(() => parseTrainConfig({ fineTune: { augment: { zoom: [1.2, 0.8] } } })).toThrow(
      /^expected a range \[min, max\] with min <= max for config fineTune\.augment\.zoom but received \[1\.2,0\.8\]/,
    );
    expect(() => parseTrainConfig({ features: { randomViews: 2, augment: { hue: 2 } } })).toThrow(
      /^expected a number <= 0\.5 for config features\.augment\.hue but received 2; allowed keys: /,
    );
    expect(() => parseTrainConfig({ features: { randomViews: 2, augment: 'strong' } })).toThrow(
      /^expected an object for config features\.augment but received "strong"/,
    );
    // kept as written: config.json and the feature/prefix cache keys stay as they were
    const config = parseTrainConfig({
      features: { randomViews: 2, augment: { rotate: 20 } },
      fineTune: { augment: {} },
    });
    expect(config.features.augment).toEqual({ rotate: 20 });
    expect(config.fineTune.augment).toEqual({});
  });

  it('keeps features.augment without random views valid (a run warns that it is unused)', () => {
    expect(parseTrainConfig({ features: { augment: { rotate: 90 } } }).features.augment).toEqual({
      rotate: 90,
    });
    expect(() => parseTrainConfig({ features: { randomViews: 0, augment: { rotate: 500 } } })).toThrow(
      /config features\.augment\.rotate but received 500/,
    );
  });

  it('lists each augmentation block as one key', () => {
    const keys = configKeyNames();
    expect(keys).toContain('features.augment');
    expect(keys).toContain('fineTune.augment');
    expect(keys.filter((k) => k.includes('augment.'))).toEqual([]);
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
    expect(parseOverride('train.epochs=5e-1')).toEqual(['train.epochs', 0.5]);
    expect(() => parseOverride('epochs')).toThrow(
      'expected key=value for --set but received "epochs"; e.g. --set train.epochs=5',
    );
  });

  it('keeps the value of a text key as written, however it looks', () => {
    expect(parseOverride('output.name=2024')).toEqual(['output.name', '2024']);
    expect(parseOverride('output.name=007')).toEqual(['output.name', '007']);
    expect(parseOverride('data.root=true')).toEqual(['data.root', 'true']);
    expect(parseOverride('output.runsDir=[x]')).toEqual(['output.runsDir', '[x]']);
    expect(parseOverride('data.splitFile=1e3')).toEqual(['data.splitFile', '1e3']);
    expect(
      parseTrainConfig(applyConfigOverrides({}, Object.fromEntries([parseOverride('output.name=2024')])))
        .output.name,
    ).toBe('2024');
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
