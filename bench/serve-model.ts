// Builds (once, cached) the MobileNet v1 bundle bench:serve serves: real ImageNet weights from ../shared,
// truncated after conv_pw_12, with a randomly initialised 7-class head.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HAM10000_CLASSES } from '../src/core/labels.js';
import { buildClassifier } from '../src/core/train/head.js';
import { writeModelBundle } from '../src/node/bundle/write.js';
import { loadPretrainedBackbone } from '../src/node/weights/pretrained.js';

export const SHARED = join(process.cwd(), '../shared');
export const WEIGHTS = join(SHARED, 'weights/mobilenet_v1_1.0_224');

/** Returns the bundle folder, exporting it first when absent. */
export async function ensureMobileNetBundle(dir: string): Promise<string> {
  if (await stat(join(dir, 'bundle.json')).catch(() => undefined)) return dir;
  const backbone = await loadPretrainedBackbone('mobilenet_v1', { weightsPath: WEIGHTS });
  const model = buildClassifier(backbone.model, { numClasses: HAM10000_CLASSES.length, dropout: 0.2 });
  await writeModelBundle(dir, {
    model,
    name: 'mobilenet_v1-random-head',
    backbone: 'mobilenet_v1',
    classes: HAM10000_CLASSES,
    preprocess: { width: 224, height: 224, resize: 'stretch', colorConstancy: false },
    normalization: backbone.spec.normalization,
    metrics: { note: 'benchmark model: ImageNet backbone (to conv_pw_12), untrained random head' },
  });
  model.dispose();
  return dir;
}
