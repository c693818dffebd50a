/**
 * One CSV cell as RFC 4180 writes it: quoted, with inner quotes doubled, when it holds a quote, a comma or a
 * line break; as it is otherwise. Every CSV lesionlab writes (predictions.csv, `predict --format csv`) uses it.
 */
export function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
