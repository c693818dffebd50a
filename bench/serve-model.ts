// Builds (once, cached) the MobileNet v1 bundle bench:serve and bench:queue serve: real ImageNet weights from
// ../shared, truncated after conv_pw_12, with a randomly initialised 7-class head, and the pixel-density rule
// measured on the HAM10000 images as `lesionlab train` records it in every bundle it writes.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HAM10000_CLASSES } from '../src/core/labels.js';
import { buildClassifier } from '../src/core/train/head.js';
import { measureDensityRule } from '../src/node/bundle/density.js';
import { writeModelBundle } from '../src/node/bundle/write.js';
import { loadPretrainedBackbone } from '../src/node/weights/pretrained.js';

export const SHARED = join(process.cwd(), '../shared');
export const WEIGHTS = join(SHARED, 'weights/mobilenet_v1_1.0_224');
/** Where bench:serve and bench:queue keep the bundle (the name changes whenever what it holds does). */
export const BENCH_BUNDLE = '.cache/bench-serve/mobilenet_v1-density-bundle';

/** Folder of the first half of the HAM10000 images in ../shared. */
const HAM_PART_1 = join(SHARED, 'data/ham10000/HAM10000_images_part_1');

/** The JPEG paths in {@link HAM_PART_1}, sorted; throws naming the folder when there are none. */
export async function ham10000Jpegs(): Promise<string[]> {
  const names = (await readdir(HAM_PART_1)).filter((f) => f.endsWith('.jpg')).sort();
  if (names.length === 0)
    throw new Error(`the serving benches need HAM10000 JPEGs in ${HAM_PART_1}; found none`);
  return names.map((f) => join(HAM_PART_1, f));
}

/** The HAM10000 training images' density rule, as `train` measures it (image headers of an even sample). */
async function ham10000Density() {
  const rule = await measureDensityRule(await ham10000Jpegs());
  if (!rule) throw new Error(`bench bundle: no readable HAM10000 JPEG in ${HAM_PART_1}`);
  return rule;
}

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
    preprocess: {
      width: 224,
      height: 224,
      resize: 'stretch',
      colorConstancy: false,
      density: await ham10000Density(),
    },
    normalization: backbone.spec.normalization,
    metrics: { note: 'benchmark model: ImageNet backbone (to conv_pw_12), untrained random head' },
  });
  model.dispose();
  return dir;
}
