import { expected } from '../errors.js';

/** One data row of a delimited table with its 1-based line number in the source text. */
export interface TableRow {
  readonly line: number;
  readonly cells: readonly string[];
}

/** A parsed delimited table: trimmed header names and the data rows (blank lines dropped). */
export interface Table {
  readonly header: readonly string[];
  readonly rows: readonly TableRow[];
  readonly delimiter: string;
}

/** Guesses the delimiter from the header line (ended by CRLF, LF or a lone CR): tab, semicolon or comma, whichever occurs most. */
export function detectDelimiter(text: string): string {
  const end = text.search(/\r\n|\r|\n/);
  const first = end < 0 ? text : text.slice(0, end);
  const counts = ['\t', ';', ','].map((d) => [d, first.split(d).length - 1] as const);
  const best = counts.reduce((a, b) => (b[1] > a[1] ? b : a));
  return best[1] > 0 ? best[0] : ',';
}

/**
 * Parses RFC 4180-style delimited text: quoted fields (with `""` escapes and embedded delimiters or
 * newlines), CRLF, LF or CR line ends, an optional UTF-8 BOM. `name` appears in error messages.
 */
export function parseTable(text: string, name: string, delimiter = detectDelimiter(text)): Table {
  const records = splitRecords(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, delimiter, name);
  const [head, ...rows] = records.filter((r) => !(r.cells.length === 1 && r.cells[0]?.trim() === ''));
  if (head === undefined) {
    throw expected({
      what: 'a header line and data rows',
      where: name,
      received: 'an empty file',
      fix: 'check that this is the right file',
      code: 'E_BAD_CSV',
    });
  }
  return { header: head.cells.map((h) => h.trim()), rows, delimiter };
}

function splitRecords(text: string, delimiter: string, name: string): TableRow[] {
  const out: TableRow[] = [];
  let cells: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (ch === delimiter) {
      cells.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      cells.push(field);
      out.push({ line: recordLine, cells });
      cells = [];
      field = '';
      line++;
      recordLine = line;
    } else field += ch;
  }
  if (quoted) {
    throw expected({
      what: 'a closing quote',
      where: `${name} line ${recordLine}`,
      received: 'a quoted field that never closes',
      fix: `check for a stray '"'`,
      code: 'E_BAD_CSV',
    });
  }
  if (field !== '' || cells.length > 0) out.push({ line: recordLine, cells: [...cells, field] });
  return out;
}

/** Index of the first header matching one of `names` (case-insensitive), or -1. */
export function findColumn(header: readonly string[], names: readonly string[]): number {
  const lower = header.map((h) => h.toLowerCase());
  for (const name of names) {
    const i = lower.indexOf(name.toLowerCase());
    if (i >= 0) return i;
  }
  return -1;
}
