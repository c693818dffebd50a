import { MINUS_ONE_TO_ONE } from '../../src/core/preprocess/spec.js';
import type { LoadedBackbone } from '../../src/node/train/backbone.js';
import { tinyBackbone } from './tiny-backbone.js';

/** The tiny seeded 16x16 backbone as a run loads it (random weights, seed 5); `extra` adds e.g. blocks. */
export function tinyLoadedBackbone(extra: Partial<LoadedBackbone> = {}): LoadedBackbone {
  return {
    model: tinyBackbone(16, 5),
    name: 'tiny',
    inputSize: 16,
    normalization: MINUS_ONE_TO_ONE,
    weightsId: 'random:5',
    weights: { kind: 'random', seed: 5 },
    ...extra,
  };
}
