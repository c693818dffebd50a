import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFormatter, PREDICT_FORMATS, type PredictFormat } from '../../../src/node/infer/format.js';
import { resolvePredictInputs } from '../../../src/node/infer/inputs.js';

const classes = ['a', 'b', 'c'];
const ok = { path: '/x/img1.jpg', probabilities: Float32Array.of(0.2, 0.7, 0.1) };
const bad = { path: '/x/b,ad.jpg', error: 'cannot decode "it"' };

describe('formatters', () => {
  it('writes CSV with quoting, JSON lines and a table', () => {
    const csv = createFormatter('csv', classes, 2);
    expect(csv.header()).toBe('path,label_1,prob_1,label_2,prob_2,error');
    expect(csv.row(ok)).toBe('/x/img1.jpg,b,0.700000,a,0.200000,');
    expect(csv.row(bad)).toBe('"/x/b,ad.jpg",,,,,"cannot decode ""it"""');
    const jsonl = createFormatter('jsonl', classes, 1);
    const parsed = JSON.parse(jsonl.row(ok));
    expect(parsed.top).toEqual([{ label: 'b', probability: expect.closeTo(0.7, 6) }]);
    expect(Object.keys(parsed.probabilities)).toEqual(classes);
    expect(JSON.parse(jsonl.row(bad))).toEqual(bad);
    expect(jsonl.header()).toBe('');
    expect(
      createFormatter('jsonl', classes, 2).row({
        path: 'p',
        probabilities: Float32Array.of(0.5, 0.25, 0.25),
      }),
    ).toBe(
      '{"path":"p","top":[{"label":"a","probability":0.5},{"label":"b","probability":0.25}],"probabilities":{"a":0.5,"b":0.25,"c":0.25}}',
    );
    const table = createFormatter('table', classes, 2);
    expect(table.header()).toBe(`${'image'.padEnd(28)} top1             top2`);
    expect(table.row(ok)).toBe(`${'img1.jpg'.padEnd(28)} b 0.700          a 0.200`);
    expect(table.row(bad)).toContain('ERROR: cannot decode');
    expect(PREDICT_FORMATS).toEqual(['table', 'csv', 'jsonl']);
    expect(() => createFormatter('xml' as PredictFormat, classes, 1)).toThrow(
      'expected one of table, csv, jsonl for the prediction format but received "xml"; pick one of those',
    );
  });
});

describe('CSV output opened in a spreadsheet', () => {
  it('guards paths and class names that would run as formulas, and reads its own paths back', async () => {
    const csv = createFormatter('csv', ['=cmd()', 'b', 'c'], 1);
    const row = csv.row({ path: '=HYPERLINK("x").jpg', probabilities: Float32Array.of(0.6, 0.3, 0.1) });
    expect(row).toBe(`"'=HYPERLINK(""x"").jpg",'=cmd(),0.600000,`);
    const dir = await mkdtemp(join(tmpdir(), 'lesionlab-formula-'));
    try {
      const out = join(dir, 'out.csv');
      await writeFile(out, `${csv.header()}\n${row}\n`);
      expect(await resolvePredictInputs(out)).toEqual([join(dir, '=HYPERLINK("x").jpg')]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('each output says how it was scored', () => {
  it('CSV columns views and density, JSON fields, a # line over the table', () => {
    const context = { views: ['identity', 'flip_h'], density: true };
    const csv = createFormatter('csv', classes, 1, context);
    expect(csv.header()).toBe('path,label_1,prob_1,views,density,metadata,error');
    expect(csv.row(ok)).toBe('/x/img1.jpg,b,0.700000,identity+flip_h,on,no,');
    const parsed = JSON.parse(createFormatter('jsonl', classes, 1, context).row(ok));
    expect(parsed).toMatchObject({ views: ['identity', 'flip_h'], density: true });
    expect(createFormatter('table', classes, 1, { views: ['identity'], density: false }).header()).toMatch(
      /^# views identity; density rule off\nimage/,
    );
  });
});

describe('resolvePredictInputs', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'lesionlab-inputs-'));
    await mkdir(join(root, 'imgs', 'sub'), { recursive: true });
    for (const f of ['imgs/b.jpg', 'imgs/sub/a.PNG', 'imgs/notes.txt']) await writeFile(join(root, f), 'x');
    await writeFile(join(root, 'imgs', 'list.csv'), 'image_id,dx\nb,nv\na,mel\nzzz,nv\n');
    await writeFile(join(root, 'paths.csv'), 'path\nimgs/b.jpg\n/abs/c.jpg\n');
    await writeFile(join(root, 'nocol.csv'), 'foo,bar\n1,2\n');
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('walks folders recursively, reads path or image_id CSVs and passes single files through', async () => {
    expect(await resolvePredictInputs(join(root, 'imgs'))).toEqual([
      join(root, 'imgs/b.jpg'),
      join(root, 'imgs/sub/a.PNG'),
    ]);
    expect(await resolvePredictInputs(join(root, 'paths.csv'))).toEqual([
      join(root, 'imgs/b.jpg'),
      '/abs/c.jpg',
    ]);
    expect(await resolvePredictInputs(join(root, 'imgs', 'list.csv'))).toEqual([
      join(root, 'imgs/b.jpg'),
      join(root, 'imgs/sub/a.PNG'),
      join(root, 'imgs/zzz'),
    ]);
    expect(await resolvePredictInputs(join(root, 'imgs/b.jpg'))).toEqual([join(root, 'imgs/b.jpg')]);
  });

  it('explains a missing target and a CSV without an image column', async () => {
    await expect(resolvePredictInputs(join(root, 'nope'))).rejects.toMatchObject({
      code: 'E_MISSING_FILE',
      message: `expected an image, a folder or a CSV for ${join(root, 'nope')} but received no such file or folder; check the path`,
    });
    await expect(resolvePredictInputs(join(root, 'nocol.csv'))).rejects.toThrow(
      /^expected an image column \(path, file, filename, image_path, image, image_id, id\) for .*nocol\.csv but received the columns foo, bar; add a "path" column or an "image_id" column$/,
    );
  });
});
