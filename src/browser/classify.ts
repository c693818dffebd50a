import { type BundleMeta, BundleMetaSchema } from '../core/bundle/meta.js';
import { LesionlabError } from '../core/errors.js';
import type { ImagePrediction } from '../core/infer/classifier.js';

export type { ClassScore } from '../core/infer/rank.js';

/** What the page shows for one image: the core classifier's prediction and how long inference took. */
export interface BrowserPrediction extends ImagePrediction {
  readonly inferenceMs: number;
}

/** Fetches and validates a bundle's `bundle.json` from `url` (same checks as the Node reader); `E_MODEL_BUNDLE` naming the URL. */
export async function fetchBundleMeta(url: string): Promise<BundleMeta> {
  const res = await fetch(url);
  if (!res.ok) {
    throw new LesionlabError(
      'E_MODEL_BUNDLE',
      `${url}: HTTP ${res.status}; is the page served by \`lesionlab web <model>\`?`,
    );
  }
  const parsed = BundleMetaSchema.safeParse(await res.json());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LesionlabError(
      'E_MODEL_BUNDLE',
      `${url}: invalid model bundle metadata at "${issue?.path.join('.')}": ${issue?.message}`,
    );
  }
  return parsed.data;
}
