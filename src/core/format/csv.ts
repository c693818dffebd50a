/**
 * Text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR: OWASP's list), also after
 * guard quotes, so that {@link csvText} can tell a guard from a quote that was there.
 */
const FORMULA = /^'*[=+\-@\t\r]/;

/** A plain decimal number (`-0.5`, `+3`, `1e-7`): a spreadsheet reads it as a number, never as a formula. */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * One CSV cell as RFC 4180 writes it, safe to open in a spreadsheet. Text that would start a formula (a leading
 * `=`, `+`, `-`, `@`, tab or CR, as in an image named `=HYPERLINK(...).jpg`) gets a guard `'` in front (OWASP's
 * CSV-injection advice); numbers such as `-0.5` are left as they are. The cell is then quoted, with inner quotes
 * doubled, when it holds a quote, a comma, a semicolon or tab (other locales' separators) or a line break.
 *
 * Every CSV lesionlab writes (predictions.csv, `predict --format csv`) uses it for its text cells. The guard is
 * undone exactly by {@link csvText}: text already starting with guard quotes and a formula character gets one
 * more, so every cell that starts with `'` and then a formula character carries one, and no other cell does.
 * lesionlab's own readers of these files (`parsePredictionsCsv`) use `csvText` so image ids round-trip.
 */
export function csvCell(value: string): string {
  const text = FORMULA.test(value) && !NUMBER.test(value) ? `'${value}` : value;
  return /[",;\t\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The text {@link csvCell} was given, from a cell as a CSV parser returns it (unquoted): drops the guard `'`. */
export function csvText(cell: string): string {
  return cell.startsWith("'") && FORMULA.test(cell) ? cell.slice(1) : cell;
}
