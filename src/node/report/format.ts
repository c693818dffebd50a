import type { ConfidenceInterval } from '../../core/eval/bootstrap.js';

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
