import type { BundleMeta } from '../core/bundle/meta.js';

/**
 * The model's own evaluated figures, as a bundle carries them in `metrics.evaluation` (written when the run
 * is evaluated): balanced accuracy with its bootstrap interval and each class's recall on a held-out split.
 */
export interface ModelFigures {
  /** Which split the figures come from (`test`) and how many images it had. */
  readonly split: string;
  readonly images: number;
  /** How predictions were made, e.g. `plain` or `4 views (TTA)`. */
  readonly views?: string;
  readonly balancedAccuracy: number;
  readonly interval?: { readonly lower: number; readonly upper: number; readonly level?: number };
  /** Recall per class (null: the split had no image of that class). */
  readonly recall: Readonly<Record<string, number | null>>;
  /** Images per class in the split. */
  readonly support?: Readonly<Record<string, number>>;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Reads `meta.metrics.evaluation`; null when the bundle has none or it is malformed (never throws). */
export function modelFigures(meta: Pick<BundleMeta, 'metrics'>): ModelFigures | null {
  const raw = (meta.metrics as { evaluation?: Record<string, unknown> } | undefined)?.evaluation;
  if (!raw || !isNumber(raw.balancedAccuracy) || typeof raw.recall !== 'object' || raw.recall === null)
    return null;
  const interval = raw.interval as ModelFigures['interval'] | undefined;
  return {
    split: typeof raw.split === 'string' ? raw.split : 'test',
    images: isNumber(raw.images) ? raw.images : 0,
    ...(typeof raw.views === 'string' ? { views: raw.views } : {}),
    balancedAccuracy: raw.balancedAccuracy,
    ...(interval && isNumber(interval.lower) && isNumber(interval.upper) ? { interval } : {}),
    recall: raw.recall as ModelFigures['recall'],
    ...(typeof raw.support === 'object' && raw.support !== null
      ? { support: raw.support as ModelFigures['support'] }
      : {}),
  };
}

const pct = (v: number) => `${(v * 100).toFixed(0)}%`;

/** `balanced accuracy 26% (95% CI 18–34%) on 52 test images`, or what to do when the bundle has no figures. */
export function describeFigures(figures: ModelFigures | null): string {
  if (!figures) {
    return 'This model carries no evaluated figures: run `lesionlab evaluate <run>` and weigh its output with care.';
  }
  const ci = figures.interval
    ? ` (${Math.round((figures.interval.level ?? 0.95) * 100)}% CI ${(figures.interval.lower * 100).toFixed(0)}–${pct(figures.interval.upper)})`
    : ' (no interval recorded)';
  const views = figures.views ? `, ${figures.views}` : '';
  return `This model's own figures: balanced accuracy ${pct(figures.balancedAccuracy)}${ci} on ${figures.images} ${figures.split} images${views}.`;
}

/** A warning when the model is weak (balanced accuracy under 50%) or was judged on very few images. */
export function figuresCaution(figures: ModelFigures | null): string | null {
  if (!figures) return null;
  if (figures.balancedAccuracy < 0.5)
    return `It gets fewer than half of each class right on average: its top answer is often wrong.`;
  if (figures.images < 100) return `Judged on only ${figures.images} images: the figures are rough.`;
  return null;
}

/** `recall 40% (n=5)` for one class, `—` when the split had no image of it or nothing was recorded. */
export function recallText(figures: ModelFigures | null, label: string): string {
  const recall = figures?.recall[label];
  if (recall === undefined || recall === null) return figures ? 'recall —' : '';
  const n = figures?.support?.[label];
  return `recall ${pct(recall)}${n === undefined ? '' : ` (n=${n})`}`;
}
