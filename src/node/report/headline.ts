import type { EvaluationMetrics } from '../../core/eval/summary.js';
import { num, numWithCi, pct, pctWithCi, sensitivityPoints } from './format.js';

/** The headline table's figure columns, in order: the HTML page and the Markdown summary show the same ones. */
export const HEADLINE_COLUMNS = [
  'Balanced accuracy',
  'Accuracy',
  'Macro AUC',
  'Top-2',
  'Top-3',
  'Log loss',
  'ECE',
] as const;

/**
 * One variant's headline figures as text, in {@link HEADLINE_COLUMNS} order (balanced accuracy, accuracy and
 * macro AUC with their bootstrap intervals where computed), then, when `pointsSeparator` is given, its
 * sensitivities at fixed specificity joined by it.
 */
export function headlineCells(metrics: EvaluationMetrics, pointsSeparator?: string): string[] {
  const m = metrics;
  const b = m.bootstrap ?? undefined;
  const cells = [
    pctWithCi(m.balancedAccuracy, b?.balancedAccuracy),
    pctWithCi(m.accuracy, b?.accuracy),
    numWithCi(m.macroAuc, b?.macroAuc),
    pct(m.top2Accuracy),
    pct(m.top3Accuracy),
    num(m.logLoss),
    pct(m.ece),
  ];
  if (pointsSeparator === undefined) return cells;
  return [...cells, sensitivityPoints(m.sensitivityAtSpecificity?.points, pointsSeparator)];
}
