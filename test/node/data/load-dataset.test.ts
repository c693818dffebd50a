import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { splitFingerprint } from '../../../src/core/data/split-schema.js';
import { LesionlabError } from '../../../src/core/errors.js';
import { HAM10000_CLASSES } from '../../../src/core/labels.js';
import { at } from '../../../src/core/util/at.js';
import { checkImageFile } from '../../../src/node/data/check-images.js';
import { loadDataset } from '../../../src/node/data/load-dataset.js';
import { makeTree, tinyJpeg } from '../../support/dataset-tree.js';

const roots: string[] = [];
const tree = async (files: Record<string, string | Buffer>) => {
  const root = await makeTree(files);
  roots.push(root);
  return root;
};
afterAll(async () => {
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

const HEADER = 'lesion_id,image_id,dx,dx_type,age,sex,localization';
const SAMPLE = join(import.meta.dirname, '..', '..', '..', 'data', 'sample', 'ham10000');
const SAMPLE_CSV = await readFile(join(SAMPLE, 'HAM10000_metadata.csv'), 'utf8');

/** A copy of the embedded sample with its metadata replaced by `csv` (image folders symlinked). */
async function sampleWith(csv: string | undefined, name = 'HAM10000_metadata.csv'): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'lesionlab-ham-'));
  roots.push(root);
  for (const part of ['HAM10000_images_part_1', 'HAM10000_images_part_2'])
    await symlink(join(SAMPLE, part), join(root, part), 'dir');
  if (csv !== undefined) await writeFile(join(root, name), csv);
  return root;
}

/** The sample metadata with the `dx` column removed. */
function withoutDx(csv: string): string {
  return csv
    .split('\n')
    .map((line) =>
      line
        .split(',')
        .filter((_, i) => i !== 2)
        .join(','),
    )
    .join('\n');
}

const quiet = { info: () => {}, warn: () => {} };

describe('loadDataset: HAM10000 layout', () => {
  it('reads the metadata CSV and finds images in both part folders', async () => {
    const root = await tree({
      'HAM10000_metadata.csv': `${HEADER}\r\nHAM_1,ISIC_1,nv,histo,40,male,back\r\nHAM_1,ISIC_2,nv,histo,40,male,back\r\nHAM_2,ISIC_3,"mel",histo,,female,"face, left"\r\n`,
      'HAM10000_images_part_1/ISIC_1.jpg': 'jpeg',
      'HAM10000_images_part_2/ISIC_2.jpg': 'jpeg',
      'HAM10000_images_part_2/ISIC_3.jpeg': 'jpeg',
    });
    const ds = await loadDataset(root);
    expect(ds.format).toBe('ham10000');
    expect(ds.classes).toEqual(HAM10000_CLASSES);
    expect(ds.issues).toEqual([]);
    expect(ds.records.map((r) => [r.imageId, r.label, r.groupId])).toEqual([
      ['ISIC_1', 'nv', 'HAM_1'],
      ['ISIC_2', 'nv', 'HAM_1'],
      ['ISIC_3', 'mel', 'HAM_2'],
    ]);
    expect(at(ds.records, 2).path).toBe(join(root, 'HAM10000_images_part_2/ISIC_3.jpeg'));
    expect(at(ds.records, 2).meta?.localization).toBe('face, left');
  });

  it('reads the Dataverse .tab (tab-separated, quoted)', async () => {
    const tab = `${HEADER.split(',')
      .map((h) => `"${h}"`)
      .join('\t')}\n"HAM_1"\t"ISIC_1"\t"bkl"\t"histo"\t80\t"male"\t"scalp"\n`;
    const root = await tree({ 'HAM10000_metadata.tab': tab, 'imgs/ISIC_1.jpg': 'jpeg' });
    const ds = await loadDataset(root);
    expect(ds.records.map((r) => [r.imageId, r.label, r.groupId])).toEqual([['ISIC_1', 'bkl', 'HAM_1']]);
  });

  it('skips bad rows and images and reports each kind of issue', async () => {
    const root = await tree({
      'HAM10000_metadata.csv': [
        HEADER,
        'HAM_1,ISIC_1,nv,histo,1,m,a', // ok
        'HAM_1,ISIC_1,nv,histo,1,m,a', // duplicate
        'HAM_2,ISIC_2,nv,histo,1,m,a', // missing file
        'HAM_3,ISIC_3,nv,histo,1,m,a', // not an image
        'HAM_4,ISIC_4,nv,histo,1,m,a', // JPEG magic, garbage header
        'HAM_5,ISIC_5,cat,histo,1,m,a', // unknown label
        ',ISIC_6,nv,histo,1,m,a', // empty lesion
      ].join('\n'),
      'p1/ISIC_1.jpg': 'jpeg',
      'p1/ISIC_3.jpg': 'hello, not a jpeg',
      'p1/ISIC_4.jpg': Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6, 7, 8]),
      'p1/ISIC_6.jpg': 'jpeg',
      'p2/ISIC_99.png': 'jpeg',
    });
    const warnings: string[] = [];
    const ds = await loadDataset(root, { logger: { info: () => {}, warn: (m) => warnings.push(m) } });
    expect(ds.records.map((r) => r.imageId)).toEqual(['ISIC_1']);
    const kinds = ds.issues.map((i) => `${i.kind}:${i.subject.replace(root, '')}`).sort();
    expect(kinds).toEqual([
      'corrupt-image:/p1/ISIC_3.jpg',
      'corrupt-image:/p1/ISIC_4.jpg',
      'duplicate-image-id:ISIC_1',
      'empty-group:ISIC_6',
      'missing-image:ISIC_2',
      'orphan-image:/p2/ISIC_99.png',
      'unknown-label:ISIC_5',
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^7 data issues, affected rows skipped \(/);

    await expect(loadDataset(root, { strict: true })).rejects.toThrow(
      /^expected no data issues \(--strict\) for .*HAM10000_metadata.csv but received 7 data issues \(.*\); first: .*drop --strict/,
    );
    const unchecked = await loadDataset(root, { checkImages: false, orphans: false });
    expect(unchecked.records.map((r) => r.imageId)).toEqual(['ISIC_1', 'ISIC_3', 'ISIC_4']);
  });

  it('explains a missing root and a metadata file without the required columns', async () => {
    await expect(loadDataset('/no/such/dir')).rejects.toMatchObject({ code: 'E_MISSING_FILE' });
    const root = await tree({ 'meta.csv': 'lesion_id,image_id,diagnosis\nA,B,nv\n' });
    await expect(loadDataset(join(root, 'meta.csv'), { format: 'ham10000' })).rejects.toThrow(
      'expected the HAM10000 metadata column "dx" for meta.csv but received a file without it',
    );
    await expect(loadDataset(root, { format: 'nope' as 'auto' })).rejects.toBeInstanceOf(LesionlabError);
  });
});

describe('loadDataset: a broken HAM10000 metadata file is an error, never another layout (issue #11 item 3)', () => {
  it('names the missing "dx" column and the fix when dx was removed', async () => {
    const root = await sampleWith(withoutDx(SAMPLE_CSV));
    const error = await loadDataset(root, { logger: quiet }).catch((e) => e);
    expect(error).toMatchObject({ code: 'E_MISSING_COLUMN' });
    expect(error.message).toMatch(
      /^expected the HAM10000 metadata column "dx" for HAM10000_metadata.csv but received a file without it \(found lesion_id, image_id, dx_type, .*\); restore the header line lesion_id,image_id,dx,/,
    );
  });

  it('says the first line is data when the header is missing', async () => {
    const root = await sampleWith(SAMPLE_CSV.slice(SAMPLE_CSV.indexOf('\n') + 1));
    await expect(loadDataset(root, { logger: quiet })).rejects.toThrow(
      /^expected the HAM10000 metadata columns "lesion_id", "image_id", "dx" for HAM10000_metadata.csv but received a file without them \(the first line \(HAM_0001857, ISIC_0027317, nv, follow_up, \.\.\.\) is data, not the header\)/,
    );
  });

  it('rejects a 0-byte file, any case of the name (.tab too), also given as the root file', async () => {
    for (const name of ['HAM10000_metadata.csv', 'ham10000_METADATA.tab']) {
      const root = await sampleWith('', name);
      await expect(loadDataset(root, { logger: quiet })).rejects.toThrow(
        new RegExp(
          `^expected the HAM10000 metadata columns "lesion_id", "image_id", "dx" for ${name} .*\\(the file is empty`,
        ),
      );
      await expect(loadDataset(join(root, name), { logger: quiet })).rejects.toMatchObject({
        code: 'E_MISSING_COLUMN',
      });
    }
  });

  it('never takes HAM10000_images_part_* folders as classes', async () => {
    const root = await sampleWith(undefined);
    await expect(loadDataset(root, { logger: quiet })).rejects.toThrow(
      /^expected HAM10000_metadata.csv\/.tab next to the HAM10000 image folders .* but received the image folders HAM10000_images_part_1, HAM10000_images_part_2 without it; .*pass it with --metadata/,
    );
    await expect(loadDataset(root, { format: 'folder', logger: quiet })).rejects.toMatchObject({
      code: 'E_MISSING_FILE',
    });
    await writeFile(join(root, 'HAM10000_metadata.csv'), SAMPLE_CSV);
    const ds = await loadDataset(root, { checkImages: false, logger: quiet });
    expect([ds.format, ds.records.length, ds.grouping]).toEqual([
      'ham10000',
      144,
      { by: 'column', column: 'lesion_id' },
    ]);
  });

  it('leaves HAM10000 image folders out of a folder-per-class dataset, with a warning', async () => {
    const root = await tree({ 'nv/a.jpg': 'jpeg', 'HAM10000_images_part_1/ISIC_1.jpg': 'jpeg' });
    const warnings: string[] = [];
    const ds = await loadDataset(root, { logger: { info: () => {}, warn: (m) => warnings.push(m) } });
    expect(ds.records.map((r) => r.label)).toEqual(['nv']);
    expect(warnings[0]).toBe(
      'HAM10000_images_part_1: HAM10000 image folders, not classes; their images are left out',
    );
  });

  it('warns when a table file matches no layout and class folders are read instead', async () => {
    const root = await tree({ 'notes.csv': 'foo,bar\n1,2\n', 'nv/a.jpg': 'jpeg' });
    const warnings: string[] = [];
    await loadDataset(root, { logger: { info: () => {}, warn: (m) => warnings.push(m) } });
    expect(warnings[0]).toMatch(
      /^notes.csv: header matches no metadata layout .*reading class folders instead$/,
    );
  });
});

describe('loadDataset: lesion grouping (issue #11 item 4)', () => {
  it('reads lesion,image,diagnosis as generic CSV grouped by the "lesion" column', async () => {
    const csv = SAMPLE_CSV.replace(/^lesion_id,image_id,dx,/, 'lesion,image,diagnosis,');
    const root = await sampleWith(csv, 'labels.csv');
    const ds = await loadDataset(root, { checkImages: false, logger: quiet });
    expect(ds.format).toBe('generic-csv');
    expect(ds.grouping).toEqual({ by: 'column', column: 'lesion' });
    expect(new Set(ds.records.map((r) => r.groupId)).size).toBe(91);
  });

  it('says loudly which columns it looked for when there is no group column', async () => {
    const root = await tree({
      'labels.csv': 'image,diagnosis\na.jpg,nv\nb.jpg,mel\n',
      'a.jpg': 'jpeg',
      'b.jpg': 'jpeg',
    });
    const warnings: string[] = [];
    const ds = await loadDataset(root, { logger: { info: () => {}, warn: (m) => warnings.push(m) } });
    expect(ds.grouping).toMatchObject({ by: 'image', reason: 'labels.csv has no group (lesion) column' });
    expect(warnings).toEqual([
      expect.stringMatching(
        /^labels.csv: NO LESION GROUPING: labels.csv has no group \(lesion\) column \(looked for lesion_id, lesion, .*patient_id, patient, .*\); each image is its own group.*--group-column.*split --group-by image`$/,
      ),
    ]);
  });
});

describe('loadDataset: other layouts', () => {
  it('reads a folder per class (group = image id) and maps dx folder names', async () => {
    const root = await tree({
      'NV/a.jpg': 'jpeg',
      'NV/sub/b.png': 'jpeg',
      'MEL/c.jpg': 'jpeg',
      'loose.jpg': 'jpeg',
    });
    const ds = await loadDataset(root);
    expect(ds.format).toBe('folder-per-class');
    expect(ds.classes).toEqual(HAM10000_CLASSES);
    expect(ds.records.map((r) => [r.imageId, r.label, r.groupId])).toEqual([
      ['c', 'mel', 'c'],
      ['a', 'nv', 'a'],
      ['b', 'nv', 'b'],
    ]);
  });

  it('reads ISIC one-hot ground truth given as the root file, images in the same folder', async () => {
    const root = await tree({
      'ISIC2018_Task3_Test_GroundTruth.csv':
        'image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\nISIC_1,1.0,0.0,0.0,0.0,0.0,0.0,0.0\nISIC_2,0.0,0.0,0.0,0.0,0.0,0.0,1.0\n',
      'ISIC2018_Task3_Test_Input/ISIC_1.jpg': 'jpeg',
      'ISIC2018_Task3_Test_Input/ISIC_2.jpg': 'jpeg',
    });
    const ds = await loadDataset(root);
    expect(ds.format).toBe('isic-onehot');
    expect(ds.records.map((r) => [r.imageId, r.label])).toEqual([
      ['ISIC_1', 'mel'],
      ['ISIC_2', 'vasc'],
    ]);
  });

  it('finds images in a separate --images folder (ISIC 2018 Task 3 layout)', async () => {
    const root = await tree({
      'GroundTruth/gt.csv': 'image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\nISIC_7,0,0,1,0,0,0,0\n',
      'Input/ISIC_7.jpg': 'jpeg',
    });
    const ds = await loadDataset(join(root, 'GroundTruth', 'gt.csv'), { images: join(root, 'Input') });
    expect(ds.records.map((r) => [r.imageId, r.label, r.path])).toEqual([
      ['ISIC_7', 'bcc', join(root, 'Input', 'ISIC_7.jpg')],
    ]);
    await expect(
      loadDataset(join(root, 'GroundTruth', 'gt.csv'), { images: join(root, 'nope') }),
    ).rejects.toThrow(
      /^expected a folder for --images but received .*nope, which is not one; check --images/,
    );
  });

  it('reads a generic CSV with named columns', async () => {
    const root = await tree({
      'labels.csv': 'file;kind;patient\nx/a.jpg;cat;p1\nx/b.jpg;dog;p1\n',
      'x/a.jpg': 'jpeg',
      'x/b.jpg': 'jpeg',
    });
    const ds = await loadDataset(root, {
      format: 'csv',
      columns: { image: 'file', label: 'kind', group: 'patient' },
    });
    expect(ds.format).toBe('generic-csv');
    expect(ds.classes).toEqual(['cat', 'dog']);
    expect(ds.records.map((r) => r.groupId)).toEqual(['p1', 'p1']);
  });

  it('says what it looked for in an empty folder', async () => {
    const root = await tree({ 'readme.txt': 'hi' });
    await expect(loadDataset(root)).rejects.toThrow(
      /^expected a metadata table \(.*\) or class folders with images for .* but received neither/,
    );
  });
});

/** A JPEG whose header is intact but whose data stops half-way: a header check passes it, a decode does not. */
async function truncatedJpeg(): Promise<Buffer> {
  const noise = Buffer.alloc(64 * 64 * 3, 0).map((_, i) => (i * 7919) % 251);
  const full = await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } })
    .jpeg()
    .toBuffer();
  return full.subarray(0, full.length >> 1);
}

describe('loadDataset: column flags for every table layout', () => {
  it('groups ISIC one-hot ground truth by its lesion column, found or given', async () => {
    const root = await tree({
      'gt.csv':
        'image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK,lesion_id,patient\nISIC_1,1,0,0,0,0,0,0,0,0,L1,P1\nISIC_2,1,0,0,0,0,0,0,0,0,L1,P2\nISIC_3,0,1,0,0,0,0,0,0,0,L2,P2\n',
      'img/ISIC_1.jpg': 'jpeg',
      'img/ISIC_2.jpg': 'jpeg',
      'img/ISIC_3.jpg': 'jpeg',
    });
    const found = await loadDataset(root);
    expect([found.format, found.grouping]).toEqual(['isic-onehot', { by: 'column', column: 'lesion_id' }]);
    expect(found.records.map((r) => r.groupId)).toEqual(['L1', 'L1', 'L2']);
    const given = await loadDataset(root, { columns: { group: 'patient' } });
    expect(given.records.map((r) => r.groupId)).toEqual(['P1', 'P2', 'P2']);
  });

  it('groups HAM10000 metadata by the column --group-column names', async () => {
    const root = await tree({
      'meta.csv': 'lesion_id,image_id,dx,patient_id\nL1,ISIC_1,mel,P1\nL2,ISIC_2,nv,P1\nL3,ISIC_3,nv,P2\n',
      'img/ISIC_1.jpg': 'jpeg',
      'img/ISIC_2.jpg': 'jpeg',
      'img/ISIC_3.jpg': 'jpeg',
    });
    const ds = await loadDataset(root, { columns: { group: 'patient_id' } });
    expect([ds.format, ds.grouping]).toEqual(['ham10000', { by: 'column', column: 'patient_id' }]);
    expect(ds.records.map((r) => r.groupId)).toEqual(['P1', 'P1', 'P2']);
  });

  it('refuses a column flag the layout does not take, naming it', async () => {
    const ham = await tree({ 'meta.csv': 'lesion_id,image_id,dx\nL1,ISIC_1,mel\n', 'ISIC_1.jpg': 'jpeg' });
    await expect(loadDataset(ham, { columns: { label: 'nonexistent' } })).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringContaining('but received --label-column "nonexistent"'),
    });
    const folders = await tree({ 'nv/a.jpg': 'jpeg', 'mel/b.jpg': 'jpeg' });
    for (const format of ['auto', 'folder'] as const) {
      await expect(loadDataset(folders, { format, columns: { group: 'lesion' } })).rejects.toThrow(
        expect.objectContaining({
          code: 'E_CONFIG',
          message: expect.stringMatching(
            /^expected no column flags for .* \(a folder per class, without a metadata table\) but received --group-column "lesion"; drop the column flags/,
          ),
        }),
      );
    }
    expect((await loadDataset(folders, { columns: {} })).records).toHaveLength(2);
  });
});

describe('loadDataset: reviewed ingestion defects', () => {
  it('reports no orphan image for the file of a row skipped for its label, group or field count', async () => {
    const root = await tree({
      'HAM10000_metadata.csv':
        'lesion_id,image_id,dx\nL1,ISIC_1,melanoma\n,ISIC_2,nv\nL3,ISIC_3,nv,extra\nL4,ISIC_4,nv\n',
      'ISIC_1.jpg': 'jpeg',
      'ISIC_2.jpg': 'jpeg',
      'ISIC_3.jpg': 'jpeg',
      'ISIC_4.jpg': 'jpeg',
      'ISIC_5.jpg': 'jpeg',
    });
    const ds = await loadDataset(root);
    expect(ds.issues.map((i) => `${i.kind}:${i.subject.replace(root, '')}`)).toEqual([
      'unknown-label:ISIC_1',
      'empty-group:ISIC_2',
      'bad-row:HAM10000_metadata.csv line 4',
      'orphan-image:/ISIC_5.jpg',
    ]);
  });

  it('gives the same split fingerprint whatever the image check left out (split --decode, then train)', async () => {
    const root = await tree({
      'HAM10000_metadata.csv':
        'lesion_id,image_id,dx\nL1,ISIC_1,mel\nL2,ISIC_2,nv\nL3,ISIC_3,nv\nL4,ISIC_4,nv\n',
      'ISIC_1.jpg': await truncatedJpeg(),
      'ISIC_2.jpg': 'jpeg',
      'ISIC_3.jpg': 'not an image',
      'ISIC_4.jpg': 'jpeg',
    });
    const decoded = await loadDataset(root, { checkImages: 'decode' });
    const header = await loadDataset(root);
    const unchecked = await loadDataset(root, { checkImages: false });
    expect(decoded.records.map((r) => r.imageId)).toEqual(['ISIC_2', 'ISIC_4']);
    expect(header.records.map((r) => r.imageId)).toEqual(['ISIC_1', 'ISIC_2', 'ISIC_4']);
    expect(unchecked.records).toHaveLength(4);
    const fingerprint = splitFingerprint(unchecked);
    expect(fingerprint.images).toBe(4);
    expect(splitFingerprint(decoded)).toEqual(fingerprint);
    expect(splitFingerprint(header)).toEqual(fingerprint);
  });

  it("keeps the embedded sample's split fingerprint, so existing split files stay valid", async () => {
    const ds = await loadDataset(SAMPLE, { checkImages: false });
    expect(splitFingerprint(ds)).toEqual({ images: 144, fingerprint: 'fb679ae9b8a96622' });
  });

  it('refuses two equally good tables, naming them and --metadata', async () => {
    const root = await tree({
      'train.csv': 'image,label\nISIC_1,mel\nISIC_2,nv\n',
      'test.csv': 'image,label\nISIC_3,nv\n',
      'img/ISIC_1.jpg': 'jpeg',
      'img/ISIC_2.jpg': 'jpeg',
      'img/ISIC_3.jpg': 'jpeg',
    });
    await expect(loadDataset(root)).rejects.toThrow(
      expect.objectContaining({
        code: 'E_CONFIG',
        message: `expected one metadata table for ${root} but received 2 generic-csv tables, test.csv, train.csv; pass the one to read with --metadata (or as the dataset root)`,
      }),
    );
    const ds = await loadDataset(root, { metadata: join(root, 'train.csv') });
    expect(ds.records.map((r) => r.imageId)).toEqual(['ISIC_1', 'ISIC_2']);
  });

  it('still prefers a better table: HAM10000 over generic, a recognised header over another with --format csv', async () => {
    const root = await tree({
      'HAM10000_metadata.csv': 'lesion_id,image_id,dx\nL1,ISIC_1,mel\n',
      'a-predictions.csv': 'image,label\nISIC_1,nv\n',
      'ISIC_1.jpg': 'jpeg',
    });
    expect((await loadDataset(root)).format).toBe('ham10000');
    const csv = await tree({
      'a-notes.csv': 'foo,bar\n1,2\n',
      'labels.csv': 'image,label\nx,cat\n',
      'x.jpg': 'jpeg',
    });
    expect((await loadDataset(csv, { format: 'csv' })).records.map((r) => r.label)).toEqual(['cat']);
  });

  it('reads a CR-only (Excel for Mac) table, found in the folder or given', async () => {
    const root = await tree({
      'labels.csv': 'image;label\rISIC_1;mel\rISIC_2;nv\r',
      'images/ISIC_1.jpg': 'jpeg',
      'images/ISIC_2.jpg': 'jpeg',
    });
    for (const source of [root, join(root, 'labels.csv')]) {
      const ds = await loadDataset(source);
      expect([ds.format, ds.records.map((r) => r.label)]).toEqual(['generic-csv', ['mel', 'nv']]);
    }
  });

  it('passes over a folder named like a table and warns about an unreadable one', async () => {
    const root = await tree({
      'HAM10000_metadata.csv': 'lesion_id,image_id,dx\nL1,ISIC_1,mel\n',
      'ISIC_1.jpg': 'jpeg',
    });
    await mkdir(join(root, 'backup.csv'));
    await symlink(join(root, 'gone.csv'), join(root, 'old-predictions.csv'));
    const warnings: string[] = [];
    const ds = await loadDataset(root, { logger: { info: () => {}, warn: (m) => warnings.push(m) } });
    expect(ds.records.map((r) => r.imageId)).toEqual(['ISIC_1']);
    expect(warnings).toEqual([
      expect.stringMatching(/^old-predictions\.csv \(ENOENT: .*\): cannot be read, left out of the search/),
    ]);
  });

  it('names an unreadable HAM10000 metadata file instead of a raw file-system error', async () => {
    const root = await tree({ 'ISIC_1.jpg': 'jpeg' });
    await symlink(join(root, 'gone.csv'), join(root, 'HAM10000_metadata.csv'));
    await expect(loadDataset(root)).rejects.toThrow(
      expect.objectContaining({
        code: 'E_MISSING_FILE',
        message: expect.stringMatching(
          /^expected a readable metadata table for .*HAM10000_metadata\.csv but received a file that cannot be read \(ENOENT/,
        ),
      }),
    );
  });
});

describe('checkImageFile', () => {
  it('accepts a valid JPEG and names the problem of a bad one', async () => {
    const root = await tree({ 'ok.jpg': await tinyJpeg(), 'bad.jpg': 'GIF89a....' });
    expect(await checkImageFile(join(root, 'ok.jpg'))).toBeUndefined();
    expect(await checkImageFile(join(root, 'bad.jpg'))).toBe('not a JPEG or PNG (first bytes 47494638)');
    expect(await checkImageFile(join(root, 'none.jpg'))).toMatch(/^cannot read: ENOENT/);
  });
});
