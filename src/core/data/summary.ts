import type { Dataset, DatasetGrouping } from './records.js';
import { countIssues } from './validate.js';

/** Images and groups (lesions) of one class. */
export interface ClassCount {
  readonly label: string;
  readonly images: number;
  readonly groups: number;
}

/** What `inspect` reports about a dataset; plain data, printable as JSON. */
export interface DatasetSummary {
  readonly root: string;
  readonly format: string;
  readonly images: number;
  readonly groups: number;
  /** Where the groups come from: a column, or one per image (no lesion grouping). */
  readonly grouping: DatasetGrouping;
  readonly classes: readonly ClassCount[];
  /** Key: images per group; value: how many groups have that many images. */
  readonly imagesPerGroup: Readonly<Record<string, number>>;
  readonly issues: Readonly<Record<string, number>>;
}

/** Counts images and groups per class, the images-per-group distribution and issues by kind. */
export function summarizeDataset(dataset: Dataset): DatasetSummary {
  const perGroup = new Map<string, number>();
  const perClass = new Map<string, { images: number; groups: Set<string> }>(
    dataset.classes.map((c) => [c, { images: 0, groups: new Set<string>() }]),
  );
  for (const r of dataset.records) {
    perGroup.set(r.groupId, (perGroup.get(r.groupId) ?? 0) + 1);
    const entry = perClass.get(r.label) ?? { images: 0, groups: new Set<string>() };
    entry.images++;
    entry.groups.add(r.groupId);
    perClass.set(r.label, entry);
  }
  const histogram: Record<string, number> = {};
  for (const n of [...perGroup.values()].sort((a, b) => a - b)) histogram[n] = (histogram[n] ?? 0) + 1;
  return {
    root: dataset.root,
    format: dataset.format,
    images: dataset.records.length,
    groups: perGroup.size,
    grouping: dataset.grouping,
    classes: [...perClass].map(([label, e]) => ({ label, images: e.images, groups: e.groups.size })),
    imagesPerGroup: histogram,
    issues: countIssues(dataset.issues),
  };
}

/** Renders a summary as an aligned text table (one string per line). */
export function formatSummary(s: DatasetSummary): string[] {
  const pct = (n: number) => (s.images > 0 ? ((100 * n) / s.images).toFixed(1) : '0.0');
  const rows = [...s.classes].sort((a, b) => b.images - a.images);
  const width = Math.max(5, ...rows.map((r) => r.label.length));
  const line = (a: string, b: string, c: string, d: string) =>
    `${a.padEnd(width)}  ${b.padStart(7)}  ${c.padStart(7)}  ${d.padStart(6)}`;
  return [
    `${s.root} (${s.format}): ${fmt(s.images)} images, ${fmt(s.groups)} lesions/groups`,
    groupingLine(s.grouping),
    '',
    line('class', 'images', 'lesions', '%'),
    ...rows.map((r) => line(r.label, fmt(r.images), fmt(r.groups), pct(r.images))),
    line('total', fmt(s.images), fmt(s.groups), '100.0'),
    '',
    `images per lesion: ${Object.entries(s.imagesPerGroup)
      .map(([k, v]) => `${k}×${fmt(v)}`)
      .join('  ')}`,
  ];
}

function groupingLine(g: DatasetGrouping): string {
  if (g.by === 'column') return `groups: by column "${g.column}"`;
  const looked = g.searched ? `; looked for ${g.searched.join(', ')}` : '';
  return `groups: NONE, one per image (${g.reason}${looked}); splits need --group-column or --group-by image`;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

/** Images per class in each named part of a split (hold-out parts or folds). */
export interface PartCounts {
  readonly part: string;
  readonly images: number;
  readonly groups: number;
  readonly perClass: Readonly<Record<string, number>>;
}

/** Counts images, groups and images per class in each part; `parts` maps part name → image ids. */
export function summarizeParts(
  records: readonly { readonly imageId: string; readonly label: string; readonly groupId: string }[],
  parts: Readonly<Record<string, readonly string[]>>,
): PartCounts[] {
  const byId = new Map(records.map((r) => [r.imageId, r]));
  return Object.entries(parts).map(([part, ids]) => {
    const perClass: Record<string, number> = {};
    const groups = new Set<string>();
    for (const id of ids) {
      const r = byId.get(id);
      if (!r) continue;
      perClass[r.label] = (perClass[r.label] ?? 0) + 1;
      groups.add(r.groupId);
    }
    return { part, images: ids.length, groups: groups.size, perClass };
  });
}

/** Renders part counts as a table: one row per part, one column per class. */
export function formatParts(parts: readonly PartCounts[], classes: readonly string[]): string[] {
  const width = Math.max(6, ...parts.map((p) => p.part.length));
  const cols = classes.map((c) => Math.max(5, c.length));
  const row = (name: string, images: string, groups: string, cells: string[]) =>
    `${name.padEnd(width)}  ${images.padStart(7)}  ${groups.padStart(7)}  ${cells.map((c, i) => c.padStart(cols[i] ?? 0)).join('  ')}`;
  return [
    row('part', 'images', 'lesions', [...classes]),
    ...parts.map((p) =>
      row(
        p.part,
        fmt(p.images),
        fmt(p.groups),
        classes.map((c) => fmt(p.perClass[c] ?? 0)),
      ),
    ),
  ];
}
