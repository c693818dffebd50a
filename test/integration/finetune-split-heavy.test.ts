import { describe, it } from 'vitest';
import { expectCleanTopSplits, FULL_SIZE_BACKBONES } from '../support/backbone-forward.js';

// every boundary of the big networks takes minutes on 2 cores: the top two, as fine-tuning uses them
describe('splitAtBlock on the full-size backbones', () => {
  it.each([...FULL_SIZE_BACKBONES])(
    '%s splits cleanly below its top 1 and 2 blocks by configuration alone',
    (name) => expectCleanTopSplits(name),
    300_000,
  );
});
