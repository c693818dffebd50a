import { createClassifier } from '../../src/node/infer/classifier.js';

/**
 * A bundle's probabilities for one grey 16x16 image: without metadata argument, with empty metadata, and with a full
 * record (age 80, male, face); a bundle with a metadata branch changes only the last.
 */
export async function metadataEffect(
  bundleDir: string,
): Promise<{ plain: Float32Array; none: Float32Array; full: Float32Array }> {
  const classifier = await createClassifier(bundleDir, { threads: 1 });
  try {
    const image = new Uint8Array(16 * 16 * 3).fill(128);
    const [plain] = await classifier.classifyPixels(image, 1);
    const [none] = await classifier.classifyPixels(image, 1, [{}]);
    const [full] = await classifier.classifyPixels(image, 1, [{ age: 80, sex: 'male', site: 'face' }]);
    if (!plain || !none || !full) throw new Error('metadataEffect: the classifier returned no row');
    return { plain, none, full };
  } finally {
    await classifier.dispose();
  }
}
