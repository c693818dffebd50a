import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LesionlabError } from '../../../src/core/errors.js';
import { HAM10000_CLASSES } from '../../../src/core/labels.js';
import { checkImageFile } from '../../../src/node/data/check-images.js';
import { loadDataset } from '../../../src/node/data/load-dataset.js';
import { makeTree, tinyJpeg } from './fixtures.js';

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
    expect(ds.records[2].path).toBe(join(root, 'HAM10000_images_part_2/ISIC_3.jpeg'));
    expect(ds.records[2].meta?.localization).toBe('face, left');
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
      'orphan-image:/p1/ISIC_6.jpg',
      'orphan-image:/p2/ISIC_99.png',
      'unknown-label:ISIC_5',
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^8 data issues, affected rows skipped \(/);

    await expect(loadDataset(root, { strict: true })).rejects.toThrow(
      /HAM10000_metadata.csv: 8 data issues \(.*\); first: .*drop --strict/,
    );
    const unchecked = await loadDataset(root, { checkImages: false, orphans: false });
    expect(unchecked.records.map((r) => r.imageId)).toEqual(['ISIC_1', 'ISIC_3', 'ISIC_4']);
  });

  it('explains a missing root and a metadata file without the required columns', async () => {
    await expect(loadDataset('/no/such/dir')).rejects.toMatchObject({ code: 'E_MISSING_FILE' });
    const root = await tree({ 'meta.csv': 'lesion_id,image_id,diagnosis\nA,B,nv\n' });
    await expect(loadDataset(join(root, 'meta.csv'), { format: 'ham10000' })).rejects.toThrow(
      'meta.csv: missing column "dx"',
    );
    await expect(loadDataset(root, { format: 'nope' as 'auto' })).rejects.toBeInstanceOf(LesionlabError);
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
    ).rejects.toThrow(/the images folder does not exist; check --images/);
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
    await expect(loadDataset(root)).rejects.toThrow(/no metadata table .* and no class folders with images/);
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
