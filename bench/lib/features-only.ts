import type { FeatureCache } from '../../src/node/train/feature-cache.js';
import type { RunFeatures } from '../../src/node/train/features.js';

/** The in-memory features of a run, with its image cache's file closed (the benches never read the images again). */
export async function featuresOnly(prepared: Promise<RunFeatures>): Promise<FeatureCache> {
  const { images, features } = await prepared;
  await images.close();
  return features;
}
