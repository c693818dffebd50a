import { type BundleMeta, BundleMetaSchema } from '../core/bundle/meta.js';

/** One class and its probability. */
export interface ClassScore {
  readonly label: string;
  readonly probability: number;
}

/** What the page shows for one image. */
export interface BrowserPrediction {
  /** Probabilities in the bundle's class order. */
  readonly probabilities: Float32Array;
  /** All classes, most probable first. */
  readonly ranked: readonly ClassScore[];
  /** Class-activation output `[1, h, w, classes]`, when the bundle has one. */
  readonly cam?: { readonly data: Float32Array; readonly dims: readonly number[] };
  /** The exact views averaged (the bundle's recipe), for the page to say. */
  readonly views?: readonly string[];
  /** True when lesion metadata was given and the bundle's metadata branch used it. */
  readonly metadataUsed?: boolean;
  readonly inferenceMs: number;
}

/** Classes sorted by probability, most probable first. */
export function rankClasses(probabilities: ArrayLike<number>, classes: readonly string[]): ClassScore[] {
  return classes
    .map((label, i) => ({ label, probability: probabilities[i] }))
    .sort((a, b) => b.probability - a.probability);
}

/** Fetches and validates a bundle's `bundle.json` from `url` (same checks as the Node reader). */
export async function fetchBundleMeta(url: string): Promise<BundleMeta> {
  const res = await fetch(url);
  if (!res.ok)
    throw new Error(`${url}: HTTP ${res.status}; is the page served by \`lesionlab web <model>\`?`);
  const parsed = BundleMetaSchema.safeParse(await res.json());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${url}: invalid model bundle metadata at "${issue?.path.join('.')}": ${issue?.message}`);
  }
  return parsed.data;
}
