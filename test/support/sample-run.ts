import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { splitByGroup } from '../../src/core/data/split.js';
import { buildSplitFile } from '../../src/core/data/split-schema.js';
import { HAM10000_CLASSES } from '../../src/core/labels.js';
import { writeModelBundle } from '../../src/node/bundle/write.js';
import { loadDataset } from '../../src/node/data/load-dataset.js';
import { SAMPLE_ROOT } from './report-data.js';
import { buildTinyModel, TINY_NORM, TINY_SPEC } from './tiny-model.js';

/**
 * A training run directory on the embedded sample: a tiny random-weight model exported as a real bundle
 * (ONNX), config.json pointing at the sample, a lesion-grouped split.json and a fake metrics.json history.
 */
export async function makeSampleRun(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeModelBundle(join(dir, 'model'), {
    model: buildTinyModel(),
    name: 'tiny-sample',
    backbone: 'tiny-conv',
    classes: HAM10000_CLASSES,
    preprocess: TINY_SPEC,
    normalization: TINY_NORM,
  });
  const dataset = await loadDataset(SAMPLE_ROOT, { format: 'ham10000', checkImages: false });
  const parts = splitByGroup(dataset.records, { val: 0.25, test: 0.3, seed: 1 });
  const split = buildSplitFile(dataset.records, dataset, {
    kind: 'holdout',
    seed: 1,
    val: 0.25,
    test: 0.3,
    parts,
  });
  await writeFile(join(dir, 'split.json'), JSON.stringify(split));
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({ data: { root: SAMPLE_ROOT, format: 'ham10000' } }),
  );
  const history = [1, 2, 3].map((epoch) => ({
    epoch,
    loss: 2 - epoch * 0.3,
    val_loss: 2.1 - epoch * 0.2,
    val_accuracy: 0.2 + epoch * 0.1,
    val_balanced_accuracy: 0.15 + epoch * 0.05,
    lr: 0.001,
    seconds: 1,
  }));
  await writeFile(join(dir, 'metrics.json'), JSON.stringify(history));
  return dir;
}
