import { expected, type LesionlabError } from '../errors.js';
import { HAM10000_CLASSES, isDxCode } from '../labels.js';
import { at } from '../util/at.js';
import { findColumn, type Table } from './csv.js';
import type { DataIssue, DatasetFormat, DatasetGrouping } from './records.js';

/** One labelled row of a metadata table, before its image file is located. */
export interface LabelledRow {
  readonly imageId: string;
  readonly label: string;
  readonly groupId: string;
  /** Where the row came from, e.g. `HAM10000_metadata.csv line 12`. */
  readonly source: string;
  readonly meta?: Readonly<Record<string, string>>;
}

/** Rows read from a table, the class list they use, and rows skipped with why. */
export interface ParsedRows {
  readonly format: DatasetFormat;
  readonly classes: readonly string[];
  readonly rows: readonly LabelledRow[];
  readonly issues: readonly DataIssue[];
  /** Where the rows' `groupId`s come from. */
  readonly grouping: DatasetGrouping;
  /** Image ids named by skipped rows (bad label, empty group, wrong field count): their files are no orphans. */
  readonly skippedIds?: readonly string[];
}

/**
 * Column-name overrides (auto-detected when absent): the generic CSV takes all three, ISIC one-hot the image and
 * group columns, HAM10000 the group column; {@link assertColumnOverrides} refuses the others.
 */
export interface CsvColumns {
  readonly image?: string;
  readonly label?: string;
  readonly group?: string;
}

/** The HAM10000 metadata columns, in published order; the first three are required. */
export const HAM10000_COLUMNS = [
  'lesion_id',
  'image_id',
  'dx',
  'dx_type',
  'age',
  'sex',
  'localization',
] as const;

/** ISIC challenge one-hot columns and the dx code each maps to (ISIC 2019 names AKIEC "AK"). */
export const ISIC_ONEHOT_COLUMNS: Readonly<Record<string, string>> = {
  MEL: 'mel',
  NV: 'nv',
  BCC: 'bcc',
  AKIEC: 'akiec',
  AK: 'akiec',
  BKL: 'bkl',
  DF: 'df',
  VASC: 'vasc',
  SCC: 'scc',
  UNK: 'unk',
};

const IMAGE_NAMES = ['image', 'image_id', 'image_name', 'isic_id', 'filename', 'file', 'path', 'id'];
const LABEL_NAMES = ['label', 'dx', 'class', 'diagnosis', 'target', 'category'];
/** Column names taken as the group (lesion, then patient) of a generic CSV, in order of preference. */
export const GROUP_COLUMNS: readonly string[] = [
  'lesion_id',
  'lesion',
  'lesionid',
  'group_id',
  'group',
  'groupid',
  'patient_id',
  'patient',
  'patientid',
  'subject_id',
  'subject',
];
const IMAGE_EXT = /\.(jpe?g|png)$/i;
const HAM10000_REQUIRED = HAM10000_COLUMNS.slice(0, 3);
const HAM10000_FIX =
  `restore the header line ${HAM10000_COLUMNS.join(',')} (or re-download with \`lesionlab fetch ham10000\`), ` +
  'or pass --format folder|csv to read the folder another way';

/** True for a file name that only the HAM10000 metadata should have: `HAM10000_metadata.csv/.tab/.tsv`, any case. */
export function isHam10000MetadataName(name: string): boolean {
  return /^ham10000_metadata\.(csv|tab|tsv)$/i.test(name.split(/[\\/]/).pop() ?? '');
}

/**
 * Throws `E_MISSING_COLUMN` naming `name`, the missing required HAM10000 columns (lesion_id, image_id, dx)
 * and the fix, when `header` lacks any of them; also says when the file is empty or its first line is data.
 */
export function assertHam10000Header(header: readonly string[], name: string): void {
  const missing = HAM10000_REQUIRED.filter((c) => findColumn(header, [c]) < 0);
  if (missing.length === 0) return;
  const cols = `column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`;
  const found = header.filter((h) => h !== '');
  const why =
    found.length === 0
      ? 'the file is empty or its first line is blank'
      : found.some((h) => /^(ISIC|HAM)_\d+$/i.test(h))
        ? `the first line (${found.slice(0, 4).join(', ')}, ...) is data, not the header`
        : `found ${found.join(', ')}`;
  throw expected({
    what: `the HAM10000 metadata ${cols}`,
    where: name,
    received: `a file without ${missing.length > 1 ? 'them' : 'it'} (${why})`,
    fix: HAM10000_FIX,
    code: 'E_MISSING_COLUMN',
  });
}

/** Turns a file name or relative path into an image id: last path segment without an image extension. */
export function toImageId(cell: string): string {
  const base = cell.trim().split(/[\\/]/).pop() ?? '';
  return base.replace(IMAGE_EXT, '');
}

/** Which table layout a header describes: HAM10000, ISIC one-hot, generic CSV, or none of them. */
export function detectTableFormat(header: readonly string[]): DatasetFormat | undefined {
  const upper = new Set(header.map((h) => h.toUpperCase()));
  if (['lesion_id', 'image_id', 'dx'].every((c) => findColumn(header, [c]) >= 0)) return 'ham10000';
  const onehot = ['MEL', 'NV', 'BCC', 'BKL', 'DF', 'VASC'].every((c) => upper.has(c));
  if (onehot && findColumn(header, IMAGE_NAMES) >= 0) return 'isic-onehot';
  if (findColumn(header, IMAGE_NAMES) >= 0 && findColumn(header, LABEL_NAMES) >= 0) return 'generic-csv';
  return undefined;
}

/**
 * Reads HAM10000 metadata (`HAM10000_metadata.csv` or the Dataverse `.tab`): group = lesion_id, or the column
 * `columns.group` names (e.g. a patient column); image_id and dx are fixed.
 */
export function parseHam10000Rows(table: Table, name: string, columns: CsvColumns = {}): ParsedRows {
  assertHam10000Header(table.header, name);
  assertColumnOverrides(columns, {
    name,
    layout: 'HAM10000 metadata',
    supported: ['group'],
    fixed: { image: 'image_id', label: 'dx' },
  });
  const index = HAM10000_COLUMNS.map((c) => findColumn(table.header, [c]));
  const groupCol = columns.group ? givenColumn(table, name, 'group', columns.group) : at(index, 0);
  const groupName = at(table.header, groupCol);
  const rows: LabelledRow[] = [];
  const issues: DataIssue[] = [];
  const skippedIds: string[] = [];
  for (const { line, cells } of table.rows) {
    const source = `${name} line ${line}`;
    const get = (i: number) => (i >= 0 ? (cells[i] ?? '').trim() : '');
    const [groupId, rawId, rawLabel] = [get(groupCol), get(at(index, 1)), get(at(index, 2))];
    const imageId = toImageId(rawId);
    const label = rawLabel.toLowerCase();
    const skip = (issue: DataIssue) => {
      issues.push(issue);
      if (imageId !== '') skippedIds.push(imageId);
    };
    if (cells.length !== table.header.length)
      skip(badRow(source, `${cells.length} fields, expected ${table.header.length}`));
    else if (imageId === '') skip(badRow(source, 'empty image_id'));
    else if (groupId === '')
      skip({ kind: 'empty-group', subject: imageId, detail: `${source}: empty ${groupName}` });
    else if (!isDxCode(label)) skip(unknownLabel(imageId, source, rawLabel, HAM10000_CLASSES));
    else {
      const meta = metaOf(table.header, cells, [...index.slice(0, 3), groupCol]);
      rows.push({ imageId, label, groupId, source, meta });
    }
  }
  const grouping = { by: 'column' as const, column: groupName };
  return { format: 'ham10000', classes: HAM10000_CLASSES, rows, issues, grouping, skippedIds };
}

/** Which override (flag) sets each column, for messages. */
const COLUMN_FLAGS: Readonly<Record<keyof CsvColumns, string>> = {
  image: '--image-column',
  label: '--label-column',
  group: '--group-column',
};

/**
 * Throws `E_CONFIG` naming the column overrides a layout does not take (`supported` lists those it does), so
 * none is silently ignored; an override naming the very column a layout always reads (`fixed`) is accepted.
 */
export function assertColumnOverrides(
  columns: CsvColumns,
  layout: {
    readonly name: string;
    readonly layout: string;
    readonly supported: readonly (keyof CsvColumns)[];
    readonly fixed?: Partial<Readonly<Record<keyof CsvColumns, string>>>;
    readonly fix?: string;
  },
): void {
  const keys = Object.keys(COLUMN_FLAGS) as (keyof CsvColumns)[];
  const refused = keys.filter((key) => {
    const given = columns[key];
    if (given === undefined || layout.supported.includes(key)) return false;
    return given.toLowerCase() !== layout.fixed?.[key]?.toLowerCase();
  });
  if (refused.length === 0) return;
  const takes = layout.supported.map((key) => COLUMN_FLAGS[key]);
  const flags = refused.map((key) => COLUMN_FLAGS[key]);
  const fixed = Object.values(layout.fixed ?? {});
  const reads = fixed.length > 0 ? ` (it always reads ${fixed.join(' and ')})` : '';
  throw expected({
    what: `${takes.length > 0 ? `only ${takes.join(', ')}` : 'no column flags'}${reads}`,
    where: `${layout.name} (${layout.layout})`,
    received: refused.map((key) => `${COLUMN_FLAGS[key]} "${columns[key]}"`).join(', '),
    fix: layout.fix ?? `drop ${flags.join(' and ')}, or pass --format csv to read the table as a generic CSV`,
    code: 'E_CONFIG',
  });
}

/** The index of the column an override names; `E_MISSING_COLUMN` listing the table's columns when it has none. */
function givenColumn(table: Table, name: string, key: keyof CsvColumns, given: string): number {
  const i = findColumn(table.header, [given]);
  if (i >= 0) return i;
  throw missingColumns(
    name,
    table.header,
    `${key} column "${given}"`,
    `name one of its columns with ${COLUMN_FLAGS[key]}`,
  );
}

/** `E_MISSING_COLUMN`: the table `name` lacks `what`; the error lists the columns it has. */
function missingColumns(name: string, header: readonly string[], what: string, fix: string): LesionlabError {
  return expected({
    what,
    where: name,
    received: `the columns ${header.join(', ')}`,
    fix,
    code: 'E_MISSING_COLUMN',
  });
}

/**
 * Reads an ISIC challenge ground-truth CSV (`image,MEL,NV,...` one-hot floats): group = the `columns.group`
 * column, else a lesion/patient column found by name ({@link GROUP_COLUMNS}), else the image id.
 */
export function parseIsicOnehotRows(table: Table, name: string, columns: CsvColumns = {}): ParsedRows {
  assertColumnOverrides(columns, {
    name,
    layout: 'ISIC one-hot ground truth',
    supported: ['image', 'group'],
  });
  const imageCol = columns.image
    ? givenColumn(table, name, 'image', columns.image)
    : findColumn(table.header, IMAGE_NAMES);
  const groupCol = columns.group
    ? givenColumn(table, name, 'group', columns.group)
    : findColumn(table.header, GROUP_COLUMNS);
  const classCols = table.header
    .map((h, i) => [ISIC_ONEHOT_COLUMNS[h.toUpperCase()], i] as const)
    .filter((pair): pair is readonly [string, number] => pair[0] !== undefined);
  if (imageCol < 0 || classCols.length === 0) {
    throw missingColumns(
      name,
      table.header,
      `an "image" column and one-hot columns ${Object.keys(ISIC_ONEHOT_COLUMNS).slice(0, 7).join(', ')}`,
      'use the ISIC ground-truth CSV, or --format csv for another table',
    );
  }
  const rows: LabelledRow[] = [];
  const issues: DataIssue[] = [];
  const skippedIds: string[] = [];
  for (const { line, cells } of table.rows) {
    const source = `${name} line ${line}`;
    const imageId = toImageId(cells[imageCol] ?? '');
    const groupId = groupCol >= 0 ? (cells[groupCol] ?? '').trim() : imageId;
    const hot = classCols.filter(([, i]) => Number.parseFloat(cells[i] ?? '') >= 0.5);
    const label = hot.length === 1 ? hot[0]?.[0] : undefined;
    const skip = (issue: DataIssue) => {
      issues.push(issue);
      if (imageId !== '') skippedIds.push(imageId);
    };
    if (imageId === '') skip(badRow(source, 'empty image name'));
    else if (label === undefined)
      skip(badRow(source, `${hot.length} one-hot columns set, expected exactly one`));
    else if (!isDxCode(label)) skip(unknownLabel(imageId, source, label, HAM10000_CLASSES));
    else if (groupId === '')
      skip({ kind: 'empty-group', subject: imageId, detail: `${source}: empty group` });
    else rows.push({ imageId, label, groupId, source });
  }
  const grouping = columnGrouping(
    table,
    groupCol,
    `${name} is ISIC one-hot ground truth without a lesion column`,
  );
  return { format: 'isic-onehot', classes: HAM10000_CLASSES, rows, issues, grouping, skippedIds };
}

/** Reads a generic CSV (image, label, optional group; names auto-detected or given): group defaults to image id. */
export function parseGenericRows(table: Table, name: string, columns: CsvColumns = {}): ParsedRows {
  const pick = (given: string | undefined, names: readonly string[]) =>
    findColumn(table.header, given ? [given] : names);
  const [imageCol, labelCol, groupCol] = [
    pick(columns.image, IMAGE_NAMES),
    pick(columns.label, LABEL_NAMES),
    pick(columns.group, GROUP_COLUMNS),
  ];
  const missing = [
    imageCol < 0
      ? `image column ${columns.image ? `"${columns.image}"` : `(one of ${IMAGE_NAMES.join(', ')})`}`
      : '',
    labelCol < 0
      ? `label column ${columns.label ? `"${columns.label}"` : `(one of ${LABEL_NAMES.join(', ')})`}`
      : '',
    columns.group && groupCol < 0 ? `group column "${columns.group}"` : '',
  ].filter((m) => m !== '');
  if (missing.length > 0) {
    throw missingColumns(
      name,
      table.header,
      missing.join(' and '),
      'name the columns with --image-column/--label-column',
    );
  }
  const rows: LabelledRow[] = [];
  const issues: DataIssue[] = [];
  const skippedIds: string[] = [];
  for (const { line, cells } of table.rows) {
    const source = `${name} line ${line}`;
    const imageId = toImageId(cells[imageCol] ?? '');
    const label = (cells[labelCol] ?? '').trim();
    const groupId = groupCol >= 0 ? (cells[groupCol] ?? '').trim() : imageId;
    if (imageId === '') issues.push(badRow(source, 'empty image name'));
    else if (label === '') {
      issues.push(badRow(source, 'empty label'));
      skippedIds.push(imageId);
    } else if (groupId === '') {
      issues.push({ kind: 'empty-group', subject: imageId, detail: `${source}: empty group` });
      skippedIds.push(imageId);
    } else
      rows.push({
        imageId,
        label,
        groupId,
        source,
        meta: metaOf(table.header, cells, [imageCol, labelCol, groupCol]),
      });
  }
  return normaliseLabels({
    format: 'generic-csv',
    classes: [],
    rows,
    issues,
    grouping: columnGrouping(table, groupCol, `${name} has no group (lesion) column`),
    skippedIds,
  });
}

/** Grouping by the column `groupCol`, or one group per image (`reason`) when the table has none (index < 0). */
function columnGrouping(table: Table, groupCol: number, reason: string): DatasetGrouping {
  if (groupCol >= 0) return { by: 'column', column: at(table.header, groupCol) };
  return { by: 'image', reason, searched: GROUP_COLUMNS };
}

/**
 * Settles the class list of a layout with free-form labels: when every label is a dx code (any case), labels
 * become lower-case codes and classes the seven HAM10000 codes; otherwise the sorted distinct labels.
 */
export function normaliseLabels(parsed: ParsedRows): ParsedRows {
  const allDx = parsed.rows.length > 0 && parsed.rows.every((r) => isDxCode(r.label.toLowerCase()));
  if (allDx) {
    const rows = parsed.rows.map((r) => ({ ...r, label: r.label.toLowerCase() }));
    return { ...parsed, rows, classes: HAM10000_CLASSES };
  }
  const classes = [...new Set(parsed.rows.map((r) => r.label))].sort();
  return { ...parsed, classes };
}

function metaOf(
  header: readonly string[],
  cells: readonly string[],
  skip: readonly number[],
): Record<string, string> {
  const meta: Record<string, string> = {};
  header.forEach((h, i) => {
    if (!skip.includes(i) && h !== '') meta[h] = (cells[i] ?? '').trim();
  });
  return meta;
}

function badRow(source: string, detail: string): DataIssue {
  return { kind: 'bad-row', subject: source, detail };
}

function unknownLabel(imageId: string, source: string, label: string, allowed: readonly string[]): DataIssue {
  return {
    kind: 'unknown-label',
    subject: imageId,
    detail: `${source}: label "${label}" is not one of ${allowed.join(', ')}`,
  };
}
