import { describe, expect, it } from 'vitest';
import { parseTable } from '../../../src/core/data/csv.js';
import {
  detectTableFormat,
  GROUP_COLUMNS,
  parseGenericRows,
  parseHam10000Rows,
  parseIsicOnehotRows,
  toImageId,
} from '../../../src/core/data/formats.js';
import { HAM10000_CLASSES } from '../../../src/core/labels.js';
import { at } from '../../../src/core/util/at.js';

const HAM_HEADER = 'lesion_id,image_id,dx,dx_type,age,sex,localization';

describe('parseHam10000Rows', () => {
  it('reads rows with lesion groups and keeps the other columns as meta', () => {
    const t = parseTable(
      `${HAM_HEADER}\nHAM_1,ISIC_1,bkl,histo,80.0,male,scalp\nHAM_1,ISIC_2,bkl,histo,80.0,male,scalp\n`,
      'm.csv',
    );
    const parsed = parseHam10000Rows(t, 'm.csv');
    expect(parsed.classes).toEqual(HAM10000_CLASSES);
    expect(parsed.issues).toEqual([]);
    expect(parsed.rows[1]).toEqual({
      imageId: 'ISIC_2',
      label: 'bkl',
      groupId: 'HAM_1',
      source: 'm.csv line 3',
      meta: { dx_type: 'histo', age: '80.0', sex: 'male', localization: 'scalp' },
    });
  });

  it('skips unknown labels, empty lesion ids and short rows with issues', () => {
    const text = `${HAM_HEADER}\nHAM_1,ISIC_1,xyz,histo,1,m,a\n,ISIC_2,nv,histo,1,m,a\nHAM_3,ISIC_3,nv\nHAM_4,ISIC_4,NV,histo,1,m,a\n`;
    const parsed = parseHam10000Rows(parseTable(text, 'm.csv'), 'm.csv');
    expect(parsed.issues.map((i) => i.kind)).toEqual(['unknown-label', 'empty-group', 'bad-row']);
    expect(at(parsed.issues, 0).detail).toContain('label "xyz" is not one of akiec, bcc');
    expect(parsed.rows.map((r) => [r.imageId, r.label])).toEqual([['ISIC_4', 'nv']]);
  });

  it('groups by the column --group-column names and lists the ids of skipped rows', () => {
    const text =
      'lesion_id,image_id,dx,patient_id\nL1,ISIC_1,mel,P1\nL2,ISIC_2,nv,P1\nL3,ISIC_3,nv,P2\nL4,ISIC_4,nv,\n';
    const parsed = parseHam10000Rows(parseTable(text, 'm.csv'), 'm.csv', { group: 'Patient_ID' });
    expect(parsed.grouping).toEqual({ by: 'column', column: 'patient_id' });
    expect(parsed.rows.map((r) => [r.imageId, r.groupId, r.meta])).toEqual([
      ['ISIC_1', 'P1', {}],
      ['ISIC_2', 'P1', {}],
      ['ISIC_3', 'P2', {}],
    ]);
    expect(parsed.issues).toEqual([
      { kind: 'empty-group', subject: 'ISIC_4', detail: 'm.csv line 5: empty patient_id' },
    ]);
    expect(parsed.skippedIds).toEqual(['ISIC_4']);
    const bad = parseHam10000Rows(
      parseTable(`${HAM_HEADER}\nL,ISIC_7,xyz,h,1,m,a\nL,ISIC_8,nv\n`, 'm.csv'),
      'm.csv',
    );
    expect(bad.skippedIds).toEqual(['ISIC_7', 'ISIC_8']);
  });

  it('refuses column flags it cannot honour instead of ignoring them', () => {
    const t = parseTable('lesion_id,image_id,dx\nL1,ISIC_1,mel\n', 'm.csv');
    expect(() => parseHam10000Rows(t, 'm.csv', { label: 'diagnosis' })).toThrow(
      expect.objectContaining({
        code: 'E_CONFIG',
        message:
          'expected only --group-column (it always reads image_id and dx) for m.csv (HAM10000 metadata) but received --label-column "diagnosis"; ' +
          'drop --label-column, or pass --format csv to read the table as a generic CSV',
      }),
    );
    expect(parseHam10000Rows(t, 'm.csv', { image: 'IMAGE_ID', label: 'dx' }).rows).toHaveLength(1);
    expect(() => parseHam10000Rows(t, 'm.csv', { group: 'patient' })).toThrow(
      expect.objectContaining({
        code: 'E_MISSING_COLUMN',
        message:
          'expected group column "patient" for m.csv but received the columns lesion_id, image_id, dx; name one of its columns with --group-column',
      }),
    );
  });

  it('names the missing columns and what was expected', () => {
    const t = parseTable('lesion_id,image_id,diagnosis\nA,B,nv\n', 'HAM10000_metadata.csv');
    expect(() => parseHam10000Rows(t, 'HAM10000_metadata.csv')).toThrow(
      'expected the HAM10000 metadata column "dx" for HAM10000_metadata.csv but received a file without it (found lesion_id, image_id, diagnosis); ' +
        'restore the header line lesion_id,image_id,dx,dx_type,age,sex,localization (or re-download with `lesionlab fetch ham10000`), ' +
        'or pass --format folder|csv to read the folder another way',
    );
  });
});

describe('parseIsicOnehotRows', () => {
  it('maps one-hot float columns to dx codes, group = image id', () => {
    const text =
      'image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\nISIC_1,0.0,1.0,0.0,0.0,0.0,0.0,0.0\nISIC_2,0,0,0,1,0,0,0\nISIC_3,0,0,0,0,0,0,0\n';
    const parsed = parseIsicOnehotRows(parseTable(text, 'gt.csv'), 'gt.csv');
    expect(parsed.rows.map((r) => [r.imageId, r.label, r.groupId])).toEqual([
      ['ISIC_1', 'nv', 'ISIC_1'],
      ['ISIC_2', 'akiec', 'ISIC_2'],
    ]);
    expect(parsed.issues).toEqual([
      { kind: 'bad-row', subject: 'gt.csv line 4', detail: '0 one-hot columns set, expected exactly one' },
    ]);
  });

  it('groups by a lesion/patient column, found by name or given (--group-column)', () => {
    const text =
      'image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK,lesion_id,patient\nISIC_1,1,0,0,0,0,0,0,0,0,L1,P1\nISIC_2,1,0,0,0,0,0,0,0,0,L1,P1\nISIC_3,0,1,0,0,0,0,0,0,0,L2,P1\nISIC_4,0,1,0,0,0,0,0,0,0,,P2\n';
    const table = parseTable(text, 'gt.csv');
    const found = parseIsicOnehotRows(table, 'gt.csv');
    expect(found.grouping).toEqual({ by: 'column', column: 'lesion_id' });
    expect(found.rows.map((r) => r.groupId)).toEqual(['L1', 'L1', 'L2']);
    expect(found.issues).toEqual([
      { kind: 'empty-group', subject: 'ISIC_4', detail: 'gt.csv line 5: empty group' },
    ]);
    expect(found.skippedIds).toEqual(['ISIC_4']);
    const given = parseIsicOnehotRows(table, 'gt.csv', { group: 'patient' });
    expect(given.grouping).toEqual({ by: 'column', column: 'patient' });
    expect(given.rows.map((r) => r.groupId)).toEqual(['P1', 'P1', 'P1', 'P2']);
  });

  it('says it looked for a group column, and refuses a label flag or an absent column', () => {
    const table = parseTable('image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\nISIC_1,1,0,0,0,0,0,0\n', 'gt.csv');
    expect(parseIsicOnehotRows(table, 'gt.csv').grouping).toEqual({
      by: 'image',
      reason: 'gt.csv is ISIC one-hot ground truth without a lesion column',
      searched: GROUP_COLUMNS,
    });
    expect(() => parseIsicOnehotRows(table, 'gt.csv', { label: 'dx' })).toThrow(
      expect.objectContaining({
        code: 'E_CONFIG',
        message: expect.stringMatching(
          /^expected only --image-column, --group-column for gt\.csv \(ISIC one-hot ground truth\) but received --label-column "dx"/,
        ),
      }),
    );
    expect(() => parseIsicOnehotRows(table, 'gt.csv', { group: 'lesion_id' })).toThrow(
      expect.objectContaining({
        code: 'E_MISSING_COLUMN',
        message: expect.stringContaining('group column "lesion_id"'),
      }),
    );
  });

  it('reports labels outside the 7 codes (ISIC 2019 SCC) as unknown', () => {
    const text =
      'image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK\nISIC_9,0,0,0,0,0,0,0,1,0\nISIC_8,0,0,0,1,0,0,0,0,0\n';
    const parsed = parseIsicOnehotRows(parseTable(text, 'gt.csv'), 'gt.csv');
    expect(at(parsed.issues, 0).kind).toBe('unknown-label');
    expect(at(parsed.rows, 0).label).toBe('akiec');
  });
});

describe('parseGenericRows', () => {
  it('auto-detects image/label/group columns and strips paths and extensions', () => {
    const text = 'filename,diagnosis,patient_id\nimgs/a.jpg,NV,p1\nb.PNG,mel,p1\n';
    const parsed = parseGenericRows(parseTable(text, 'x.csv'), 'x.csv');
    expect(parsed.classes).toEqual(HAM10000_CLASSES);
    expect(parsed.rows.map((r) => [r.imageId, r.label, r.groupId])).toEqual([
      ['a', 'nv', 'p1'],
      ['b', 'mel', 'p1'],
    ]);
  });

  it('takes named columns and free-form labels; group defaults to the image id', () => {
    const text = 'pic;kind\nx1;cat\nx2;dog\n';
    const parsed = parseGenericRows(parseTable(text, 'y.csv'), 'y.csv', { image: 'pic', label: 'kind' });
    expect(parsed.classes).toEqual(['cat', 'dog']);
    expect(at(parsed.rows, 0).groupId).toBe('x1');
  });

  it('takes lesion/patient/group aliases as the group column and says when there is none (issue #11 item 4)', () => {
    for (const col of ['lesion', 'Lesion_ID', 'patient', 'patient_id', 'group', 'subject_id']) {
      const parsed = parseGenericRows(
        parseTable(`${col},image,diagnosis\nL1,a.jpg,nv\nL1,b.jpg,nv\n`, 'g.csv'),
        'g.csv',
      );
      expect(parsed.grouping).toEqual({ by: 'column', column: col });
      expect(parsed.rows.map((r) => r.groupId)).toEqual(['L1', 'L1']);
    }
    const none = parseGenericRows(parseTable('image,diagnosis\na.jpg,nv\n', 'n.csv'), 'n.csv');
    expect(none.grouping).toEqual({
      by: 'image',
      reason: 'n.csv has no group (lesion) column',
      searched: GROUP_COLUMNS,
    });
    expect(GROUP_COLUMNS.slice(0, 2)).toEqual(['lesion_id', 'lesion']);
  });

  it('says which columns are missing and how to name them', () => {
    expect(() => parseGenericRows(parseTable('a,b\n1,2\n', 'z.csv'), 'z.csv')).toThrow(
      /^expected image column \(one of image, .* and label column \(one of .* for z\.csv but received the columns a, b; name the columns with --image-column/,
    );
  });
});

describe('detectTableFormat / toImageId', () => {
  it('recognises the three table layouts from headers', () => {
    expect(detectTableFormat(HAM_HEADER.split(','))).toBe('ham10000');
    expect(detectTableFormat('image,MEL,NV,BCC,AKIEC,BKL,DF,VASC'.split(','))).toBe('isic-onehot');
    expect(detectTableFormat(['image', 'label'])).toBe('generic-csv');
    expect(detectTableFormat(['foo', 'bar'])).toBeUndefined();
  });

  it('turns file names into ids', () => {
    expect(toImageId('dir\\sub/ISIC_1.JPEG')).toBe('ISIC_1');
    expect(toImageId(' ISIC_2 ')).toBe('ISIC_2');
  });
});
