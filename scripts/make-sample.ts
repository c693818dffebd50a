// Builds data/sample/ham10000: about 20 images per class from ../shared/data/ham10000, whole lesions only,
// same CSV columns and folder layout as the public release. Deterministic: lesions are ranked by a hash.
// Run: npx tsx scripts/make-sample.ts
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const SOURCE = join(import.meta.dirname, '..', '..', 'shared', 'data', 'ham10000');
const TARGET = join(import.meta.dirname, '..', 'data', 'sample', 'ham10000');
const PER_CLASS = 20;

const text = await readFile(join(SOURCE, 'HAM10000_metadata.csv'), 'utf8');
const [header, ...rows] = text.trim().split(/\r?\n/);
const byLesion = new Map<string, string[]>();
for (const row of rows) {
  const lesion = row.split(',')[0];
  byLesion.set(lesion, [...(byLesion.get(lesion) ?? []), row]);
}
const rank = (id: string) => createHash('sha256').update(id).digest('hex');
const lesions = [...byLesion.keys()].sort((a, b) => rank(a).localeCompare(rank(b)));
const counts = new Map<string, number>();
const kept: string[] = [];
for (const lesion of lesions) {
  const lesionRows = byLesion.get(lesion)!;
  const dx = lesionRows[0].split(',')[2];
  if ((counts.get(dx) ?? 0) >= PER_CLASS) continue;
  counts.set(dx, (counts.get(dx) ?? 0) + lesionRows.length);
  kept.push(...lesionRows);
}
for (const part of ['HAM10000_images_part_1', 'HAM10000_images_part_2']) await mkdir(join(TARGET, part), { recursive: true });
for (const row of kept) {
  const imageId = row.split(',')[1];
  const part = Number(imageId.slice(5)) <= 29305 ? 'HAM10000_images_part_1' : 'HAM10000_images_part_2';
  await copyFile(join(SOURCE, part, `${imageId}.jpg`), join(TARGET, part, `${imageId}.jpg`));
}
await writeFile(join(TARGET, 'HAM10000_metadata.csv'), `${[header, ...kept].join('\n')}\n`);
console.log(`${kept.length} images:`, Object.fromEntries([...counts].sort()));
