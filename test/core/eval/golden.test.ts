import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectedCalibrationError } from '../../../src/core/eval/calibration.js';
import { mcnemarFromCounts } from '../../../src/core/eval/mcnemar.js';
import {
  accuracy,
  balancedAccuracy,
  classificationReport,
  confusionMatrix,
  logLoss,
  normalizeRows,
  predictedClasses,
  topKAccuracy,
} from '../../../src/core/eval/metrics.js';
import { macroAuc, oneVsRestRoc, rocCurve, sensitivityAtSpecificity } from '../../../src/core/eval/roc.js';
import { at } from '../../../src/core/util/at.js';

const DIR = join(import.meta.dirname, '../../golden/metrics');
const TOL = 1e-9;

interface RocExpected {
  auc: number;
  fpr: number[];
  tpr: number[];
  thresholds: (number | null)[];
  sensitivityAtSpecificity: Record<string, number>;
}
interface GoldenCase {
  name: string;
  labels: number[];
  probabilities: number[][];
  expected: {
    predictions: number[];
    accuracy: number;
    balancedAccuracy: number;
    perClass: { precision: number[]; recall: number[]; f1: number[]; support: number[] };
    macroAvg: { precision: number; recall: number; 'f1-score': number };
    weightedAvg: { precision: number; recall: number; 'f1-score': number };
    confusion: number[][];
    confusionNormalized: number[][];
    roc: (RocExpected | null)[];
    macroAuc: number;
    sklearnMacroAucOvr?: number;
    top2: number;
    top3: number;
    logLoss: number;
    ece: number;
    reliability: { count: number; accuracy: number | null; confidence: number | null }[];
  };
}

function near(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => {
    expect(Math.abs(v - at(expected, i)), `index ${i}: ${v} vs ${expected[i]}`).toBeLessThan(TOL);
  });
}

const files = (await readdir(DIR)).filter((f) => f.endsWith('.json') && f !== 'mcnemar.json').sort();
const cases: GoldenCase[] = await Promise.all(
  files.map(async (f) => JSON.parse(await readFile(join(DIR, f), 'utf8')) as GoldenCase),
);

describe('golden fixtures exist', () => {
  it('has at least five scikit-learn cases', () => expect(cases.length).toBeGreaterThanOrEqual(5));
});

describe.each(cases.map((c) => [c.name, c] as const))('metrics equal scikit-learn on %s', (_name, g) => {
  const k = 7;
  const { labels, probabilities: probs, expected: e } = g;
  const preds = predictedClasses(probs);

  it('argmax predictions', () => expect(preds).toEqual(e.predictions));
  it('accuracy and balanced accuracy', () => {
    near([accuracy(labels, preds), balancedAccuracy(labels, preds, k)], [e.accuracy, e.balancedAccuracy]);
  });
  it('per-class precision / recall / F1 / support and averages', () => {
    const r = classificationReport(labels, preds, k);
    near(
      r.perClass.map((c) => c.precision),
      e.perClass.precision,
    );
    near(
      r.perClass.map((c) => c.recall),
      e.perClass.recall,
    );
    near(
      r.perClass.map((c) => c.f1),
      e.perClass.f1,
    );
    expect(r.perClass.map((c) => c.support)).toEqual(e.perClass.support);
    near(
      [r.macro.precision, r.macro.recall, r.macro.f1],
      [e.macroAvg.precision, e.macroAvg.recall, e.macroAvg['f1-score']],
    );
    near(
      [r.weighted.precision, r.weighted.recall, r.weighted.f1],
      [e.weightedAvg.precision, e.weightedAvg.recall, e.weightedAvg['f1-score']],
    );
  });
  it('confusion matrix, counts and row-normalised', () => {
    const cm = confusionMatrix(labels, preds, k);
    expect(cm).toEqual(e.confusion);
    near(normalizeRows(cm).flat(), e.confusionNormalized.flat());
  });
  it('one-vs-rest ROC curves, AUCs and macro AUC', () => {
    const rocs = oneVsRestRoc(labels, probs, k);
    rocs.forEach((r, j) => {
      const x = at(e.roc, j);
      if (x === null) {
        expect(r.auc).toBeNull();
        return;
      }
      expect(Math.abs(r.auc! - x.auc)).toBeLessThan(TOL);
      near(r.curve!.fpr, x.fpr);
      near(r.curve!.tpr, x.tpr);
      expect(r.curve!.thresholds[0]).toBe(Number.POSITIVE_INFINITY);
      near(r.curve!.thresholds.slice(1), x.thresholds.slice(1) as number[]);
    });
    expect(Math.abs(macroAuc(rocs) - e.macroAuc)).toBeLessThan(TOL);
    if (e.sklearnMacroAucOvr !== undefined)
      expect(Math.abs(macroAuc(rocs) - e.sklearnMacroAucOvr)).toBeLessThan(TOL);
  });
  it('melanoma sensitivity at 80/90/95% specificity', () => {
    const mel = at(e.roc, 4);
    if (mel === null) return;
    const positive = labels.map((l) => l === 4);
    const scores = probs.map((row) => at(row, 4));
    for (const [spec, sens] of Object.entries(mel.sensitivityAtSpecificity)) {
      const point = sensitivityAtSpecificity(positive, scores, Number(spec))!;
      expect(Math.abs(point.sensitivity - sens)).toBeLessThan(TOL);
      expect(point.specificity).toBeGreaterThanOrEqual(Number(spec) - 1e-12);
    }
  });
  it('top-2 / top-3 accuracy and log loss', () => {
    near(
      [topKAccuracy(labels, probs, 2), topKAccuracy(labels, probs, 3), logLoss(labels, probs)],
      [e.top2, e.top3, e.logLoss],
    );
  });
  it('expected calibration error and reliability bins (numpy reference)', () => {
    const c = expectedCalibrationError(labels, probs);
    expect(Math.abs(c.ece - e.ece)).toBeLessThan(TOL);
    expect(c.bins.map((b) => b.count)).toEqual(e.reliability.map((b) => b.count));
    c.bins.forEach((b, i) => {
      const x = at(e.reliability, i);
      if (x.accuracy === null) expect(b.accuracy).toBeNull();
      else near([b.accuracy!, b.confidence!], [x.accuracy, x.confidence!]);
    });
  });
});

describe('McNemar equals scipy', async () => {
  const golden = JSON.parse(await readFile(join(DIR, 'mcnemar.json'), 'utf8')) as {
    cases: { b: number; c: number; exactP: number; chi2: number; chi2P: number }[];
  };
  it.each(golden.cases.map((c) => [c.b, c.c, c] as const))('b=%i c=%i', (b, c, x) => {
    const exact = mcnemarFromCounts(b, c, { exactBelow: Number.POSITIVE_INFINITY });
    expect(exact.method).toBe('exact-binomial');
    expect(Math.abs(exact.pValue - x.exactP)).toBeLessThan(TOL);
    if (b + c === 0) return;
    const chi = mcnemarFromCounts(b, c, { exactBelow: 0 });
    expect(chi.method).toBe('chi-square-cc');
    expect(Math.abs(chi.statistic! - x.chi2)).toBeLessThan(TOL);
    expect(Math.abs(chi.pValue - x.chi2P)).toBeLessThan(TOL);
  });
});

describe('rocCurve', () => {
  it('returns null when a class has no positive', () => {
    expect(rocCurve([false, false], [0.1, 0.2])).toBeNull();
  });
});
