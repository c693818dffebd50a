import { describe, expect, it } from 'vitest';
import { bootstrapSensitivityAtSpecificity, createRng } from '../../../src/core/eval/bootstrap.js';
import { sensitivityAtSpecificity } from '../../../src/core/eval/roc.js';
import { computeEvaluationMetrics } from '../../../src/core/eval/summary.js';
import { at } from '../../../src/core/util/at.js';

const rng = createRng(5);
const n = 300;
const positive = Array.from({ length: n }, (_, i) => i % 4 === 0);
const scores = positive.map((p) => (p ? 0.35 : 0) + rng() * 0.65);
const groups = positive.map((_, i) => `lesion${Math.floor(i / 2)}`);

describe('bootstrapSensitivityAtSpecificity', () => {
  const targets = [0.8, 0.9, 0.95];
  const cis = bootstrapSensitivityAtSpecificity(positive, scores, groups, targets, {
    resamples: 300,
    seed: 1,
  });
  it('has the point estimate of sensitivityAtSpecificity and an interval around it', () => {
    targets.forEach((t, k) => {
      const ci = at(cis, k);
      expect(ci.estimate).toBeCloseTo(sensitivityAtSpecificity(positive, scores, t)!.sensitivity, 12);
      expect(ci.lower).toBeLessThanOrEqual(ci.estimate);
      expect(ci.upper).toBeGreaterThanOrEqual(ci.estimate);
      expect(ci.upper - ci.lower).toBeGreaterThan(0.02);
    });
  });
  it('is reproducible from its seed and changes with it', () => {
    const again = bootstrapSensitivityAtSpecificity(positive, scores, groups, targets, {
      resamples: 300,
      seed: 1,
    });
    expect(again).toEqual(cis);
    const other = bootstrapSensitivityAtSpecificity(positive, scores, groups, targets, {
      resamples: 300,
      seed: 2,
    });
    expect(other).not.toEqual(cis);
  });
  it('needs one group per image', () => {
    expect(() => bootstrapSensitivityAtSpecificity(positive, scores, ['g'], targets)).toThrow(
      'expected one group id per image (300) for the bootstrap groups but received 1 group ids; pass one per image',
    );
  });
});

describe('computeEvaluationMetrics: sensitivity at fixed specificity', () => {
  const classes = ['nv', 'mel'];
  const labels = positive.map((p) => (p ? 1 : 0));
  const probabilities = scores.map((s) => [1 - s, s]);
  it('carries a lesion-bootstrap interval on every operating point', () => {
    const m = computeEvaluationMetrics({
      classes,
      labels,
      probabilities,
      groups,
      bootstrap: { resamples: 100 },
    });
    const points = m.sensitivityAtSpecificity!.points;
    expect(points).toHaveLength(3);
    for (const p of points) {
      expect(p.interval!.lower).toBeLessThanOrEqual(p.sensitivity);
      expect(p.interval!.upper).toBeGreaterThanOrEqual(p.sensitivity);
    }
  });
  it('has no interval when the bootstrap is skipped', () => {
    const m = computeEvaluationMetrics({ classes, labels, probabilities, bootstrap: false });
    expect(m.sensitivityAtSpecificity!.points.every((p) => p.interval === undefined)).toBe(true);
  });
});
