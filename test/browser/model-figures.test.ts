import { describe, expect, it } from 'vitest';
import { heatColor, heatScaleGradient } from '../../src/browser/cam.js';
import {
  describeFigures,
  figuresCaution,
  modelFigures,
  recallText,
} from '../../src/browser/model-figures.js';

const evaluation = {
  split: 'test',
  images: 1503,
  views: '4 views (TTA)',
  balancedAccuracy: 0.646,
  interval: { lower: 0.6, upper: 0.69 },
  recall: { nv: 0.81, df: null },
  support: { nv: 1006, df: 0 },
};

describe('the model figures the page shows next to each prediction', () => {
  it('reads metrics.evaluation from the bundle meta', () => {
    const figures = modelFigures({ metrics: { bestEpoch: 3, evaluation } });
    expect(describeFigures(figures)).toBe(
      "This model's own figures: balanced accuracy 65% (95% CI 60–69%) on 1503 test images, 4 views (TTA).",
    );
    expect(figuresCaution(figures)).toBeNull();
    expect(recallText(figures, 'nv')).toBe('recall 81% (n=1006)');
    expect(recallText(figures, 'df')).toBe('recall —'); // no image of the class: a dash, not 0%
  });

  it('a weak model, or one judged on few images, gets a caution', () => {
    expect(
      figuresCaution(modelFigures({ metrics: { evaluation: { ...evaluation, balancedAccuracy: 0.26 } } })),
    ).toMatch(/often wrong/);
    expect(figuresCaution(modelFigures({ metrics: { evaluation: { ...evaluation, images: 22 } } }))).toMatch(
      /only 22 images/,
    );
  });

  it('a bundle without figures (or with malformed ones) says so and shows no recall', () => {
    for (const metrics of [undefined, { bestEpoch: 1 }, { evaluation: { balancedAccuracy: 'high' } }]) {
      const figures = modelFigures({ metrics });
      expect(figures).toBeNull();
      expect(describeFigures(figures)).toMatch(
        /carries no evaluated figures: run `lesionlab evaluate <run>`/,
      );
      expect(recallText(figures, 'nv')).toBe('');
    }
    expect(
      describeFigures(modelFigures({ metrics: { evaluation: { ...evaluation, interval: undefined } } })),
    ).toContain('(no interval recorded)');
  });
});

describe('the heatmap colour scale', () => {
  it('is a gradient of the heatmap colours from low to high', () => {
    const css = heatScaleGradient(3);
    const [r, g, b] = heatColor(0);
    expect(css.startsWith(`linear-gradient(to right, rgb(${r}, ${g}, ${b}) 0.0%`)).toBe(true);
    expect(css).toContain(`rgb(${heatColor(1).join(', ')}) 100.0%`);
  });
});
