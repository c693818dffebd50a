import { BUNDLE_WRITTEN_BY, type BundleMeta, checkBundleMeta } from '../core/bundle/meta.js';
import { expected } from '../core/errors.js';
import type { ImagePrediction } from '../core/infer/classifier.js';
import { parseJsonText } from '../core/json-text.js';

export type { ClassScore } from '../core/infer/rank.js';

/** What the page shows for one image: the core classifier's prediction and how long inference took. */
export interface BrowserPrediction extends ImagePrediction {
  readonly inferenceMs: number;
}

/** Fetches and validates a bundle's `bundle.json` from `url` (same checks as the Node reader); `E_MODEL_BUNDLE` naming the URL. */
export async function fetchBundleMeta(url: string): Promise<BundleMeta> {
  const res = await fetch(url);
  if (!res.ok) {
    throw expected({
      what: 'an HTTP 200 answer',
      where: url,
      received: `HTTP ${res.status}`,
      fix: 'is the page served by `lesionlab web <model>`?',
      code: 'E_MODEL_BUNDLE',
    });
  }
  const where = `the model bundle metadata ${url}`;
  const json = parseJsonText(await res.text(), { where, fix: BUNDLE_WRITTEN_BY, code: 'E_MODEL_BUNDLE' });
  return checkBundleMeta(json, where);
}
