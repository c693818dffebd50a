import type { ConfidenceInterval } from '../../core/eval/bootstrap.js';
import type { ReportVariant } from '../../core/eval/report-data.js';
import type { EvaluationMetrics, OperatingPoint } from '../../core/eval/summary.js';
import { at } from '../../core/util/at.js';

/** The variant a report's header, per-class table, charts and error gallery describe: the first one. */
export function headlineVariant(variants: readonly ReportVariant[]): ReportVariant {
  return at(variants, 0);
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A share in [0, 1] as a percentage with one decimal ("83.4%"); an em dash for NaN/null. */
export function pct(value: number | null | undefined): string {
  return value === null || value === undefined || Number.isNaN(value)
    ? '\u2014'
    : `${(value * 100).toFixed(1)}%`;
}

/** A number with `digits` decimals; an em dash for NaN/null. */
export function num(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined || Number.isNaN(value) ? '\u2014' : value.toFixed(digits);
}

/** "83.4% (81.0–85.6)": a percentage with its interval, or the value alone without one. */
export function pctWithCi(value: number, ci: ConfidenceInterval | undefined): string {
  if (ci === undefined) return pct(value);
  return `${pct(value)} (${(ci.lower * 100).toFixed(1)}\u2013${(ci.upper * 100).toFixed(1)})`;
}

/** "0.912 (0.890–0.931)": a 0..1 score with three decimals and its interval. */
export function numWithCi(value: number, ci: ConfidenceInterval | undefined): string {
  if (ci === undefined) return num(value);
  return `${num(value)} (${num(ci.lower)}\u2013${num(ci.upper)})`;
}

/** One class's per-class figures as report cells, em dashes where they are undefined. */
export interface ClassCells {
  readonly precision: string;
  readonly recall: string;
  readonly f1: string;
  readonly auc: string;
}

/**
 * Class `j`'s precision, recall, F1 and AUC as text: a class with no images in the evaluated set shows
 * "—" for recall, F1 and AUC (not 0.0%), and a class never predicted shows "—" for precision.
 */
export function classCells(m: EvaluationMetrics, j: number): ClassCells {
  const c = at(m.perClass, j);
  const predicted = m.confusion.counts.reduce((sum, row) => sum + (row[j] ?? 0), 0);
  const absent = c.support === 0;
  return {
    precision: predicted === 0 ? '\u2014' : pct(c.precision),
    recall: absent ? '\u2014' : pct(c.recall),
    f1: absent ? '\u2014' : pct(c.f1),
    auc: absent ? '\u2014' : num(c.auc),
  };
}

/**
 * Sensitivity at fixed specificities, each with its bootstrap interval ("80% spec.: 72.0% (60.1–80.2)"),
 * joined by `separator`; a point without an interval is left out, and "—" stands for none left.
 */
export function sensitivityPoints(points: readonly OperatingPoint[] | undefined, separator: string): string {
  const shown = (points ?? []).flatMap((p) =>
    p.interval
      ? [
          `${Math.round(p.targetSpecificity * 100)}% spec.: ${pctWithCi(p.sensitivity, { estimate: p.sensitivity, ...p.interval })}`,
        ]
      : [],
  );
  return shown.length === 0 ? '\u2014' : shown.join(separator);
}

/** True when some variant has a fixed-specificity sensitivity with an interval (the column is worth showing). */
export function hasSensitivityIntervals(metrics: readonly EvaluationMetrics[]): boolean {
  return metrics.some((m) => (m.sensitivityAtSpecificity?.points ?? []).some((p) => p.interval));
}
