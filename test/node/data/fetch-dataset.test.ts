import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { at } from '../../../src/core/util/at.js';
import { fetchDataset } from '../../../src/node/data/fetch-dataset.js';
import { loadDataset } from '../../../src/node/data/load-dataset.js';
import { tinyJpeg } from '../../support/dataset-tree.js';

const md5 = (data: Uint8Array | string) => createHash('md5').update(data).digest('hex');
const CSV =
  'lesion_id,image_id,dx,dx_type,age,sex,localization\nHAM_1,ISIC_1,nv,histo,40,male,back\nHAM_2,ISIC_2,mel,histo,50,female,face\n';
const TAB = '"lesion_id"\t"image_id"\t"dx"\n"HAM_1"\t"ISIC_1"\t"nv"\n';

interface Served {
  readonly bytes: Uint8Array;
  readonly original?: Uint8Array;
}

let server: Server;
let base = '';
/** The Dataverse file ids the loopback server answers for. */
type ServedFiles = Record<11 | 12 | 13, Served>;
let files: ServedFiles;
let listing: unknown;
const dropOnce = new Set<number>();
const requests: { id: number; range?: string }[] = [];

async function makeFiles(): Promise<void> {
  const jpeg = new Uint8Array(await tinyJpeg());
  const padding = new Uint8Array(200_000).map((_, i) => (i * 7919) % 251); // so "halfway" spans many chunks
  const zip1 = zipSync({ HAM10000_images_part_1: { 'ISIC_1.jpg': jpeg, 'pad.bin': padding } }, { level: 0 });
  const zip2 = zipSync({ 'ISIC_2.jpg': jpeg }, { level: 0 });
  files = {
    11: { bytes: zip1 },
    12: { bytes: zip2 },
    13: { bytes: new TextEncoder().encode(TAB), original: new TextEncoder().encode(CSV) },
  };
  listing = {
    status: 'OK',
    data: {
      latestVersion: {
        files: [
          {
            label: 'HAM10000_images_part_1.zip',
            dataFile: {
              id: 11,
              filename: 'HAM10000_images_part_1.zip',
              filesize: zip1.length,
              md5: md5(zip1),
            },
          },
          {
            dataFile: {
              id: 12,
              filename: 'HAM10000_images_part_2.zip',
              filesize: zip2.length,
              checksum: { type: 'MD5', value: md5(zip2) },
            },
          },
          {
            dataFile: {
              id: 13,
              filename: 'HAM10000_metadata.tab',
              filesize: TAB.length,
              md5: md5(CSV),
              originalFileFormat: 'text/csv',
              originalFileName: 'HAM10000_metadata.csv',
            },
          },
          { dataFile: { id: 14, filename: 'other.txt', filesize: 1, md5: md5('x') } },
        ],
      },
    },
  };
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', base);
  if (
    url.pathname === '/api/datasets/:persistentId/' &&
    url.searchParams.get('persistentId') === 'doi:10.7910/DVN/DBW86T'
  ) {
    res.setHeader('content-type', 'application/json').end(JSON.stringify(listing));
    return;
  }
  const match = /^\/api\/access\/datafile\/(\d+)$/.exec(url.pathname);
  const id = Number(match?.[1]);
  const file = id in files ? files[id as keyof ServedFiles] : undefined;
  if (!file) {
    res.statusCode = 404;
    res.end('not found');
    return;
  }
  requests.push({ id, range: req.headers.range });
  const body = url.searchParams.get('format') === 'original' && file.original ? file.original : file.bytes;
  const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
  res.statusCode = start > 0 ? 206 : 200;
  res.setHeader('content-length', body.length - start);
  if (start > 0) res.setHeader('content-range', `bytes ${start}-${body.length - 1}/${body.length}`);
  if (dropOnce.delete(id)) {
    res.write(
      body.subarray(start, start + Math.floor(body.length / 2)),
      () => res.socket?.end(), // FIN after the data, so the client gets half the body, then a premature end
    );
    return;
  }
  res.end(body.subarray(start));
}

const dirs: string[] = [];
const newDest = async () => {
  const d = await mkdtemp(join(tmpdir(), 'lesionlab-fetch-'));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  await makeFiles();
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
beforeEach(async () => {
  await makeFiles();
  requests.length = 0;
  dropOnce.clear();
});

describe('fetchDataset ham10000 (loopback Dataverse)', () => {
  it('downloads, resumes a dropped connection, verifies, unpacks, and skips finished files next time', async () => {
    const dest = await newDest();
    dropOnce.add(11);
    const result = await fetchDataset('ham10000', { dest, baseUrl: base });
    expect(result.files.map((f) => [f.name, f.status])).toEqual([
      ['HAM10000_images_part_1.zip', 'downloaded'],
      ['HAM10000_images_part_2.zip', 'downloaded'],
      ['HAM10000_metadata.tab', 'downloaded'],
    ]);
    const zip1Requests = requests.filter((r) => r.id === 11);
    expect(zip1Requests).toHaveLength(2);
    expect(at(zip1Requests, 1).range).toMatch(/^bytes=[1-9]\d*-$/);
    expect((await readdir(dest)).sort()).toEqual([
      'HAM10000_images_part_1',
      'HAM10000_images_part_2',
      'HAM10000_metadata.csv',
    ]);
    expect(await readFile(join(dest, 'HAM10000_metadata.csv'), 'utf8')).toBe(CSV);
    expect((await readdir(join(dest, 'HAM10000_images_part_1'))).sort()).toEqual(['ISIC_1.jpg', 'pad.bin']);
    const ds = await loadDataset(dest);
    expect(ds.records.map((r) => [r.imageId, r.label])).toEqual([
      ['ISIC_1', 'nv'],
      ['ISIC_2', 'mel'],
    ]);

    requests.length = 0;
    const again = await fetchDataset('ham10000', { dest, baseUrl: base });
    expect(again.files.map((f) => f.status)).toEqual(['present', 'present', 'present']);
    expect(requests).toEqual([]);
  });

  it('keeps the .part file after an interruption and resumes it with a Range request on the next run', async () => {
    const dest = await newDest();
    dropOnce.add(11);
    await expect(fetchDataset('ham10000', { dest, baseUrl: base, retries: 0 })).rejects.toMatchObject({
      code: 'E_DOWNLOAD',
    });
    const partial = (await stat(join(dest, 'HAM10000_images_part_1.zip.part'))).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(files[11].bytes.length);
    await fetchDataset('ham10000', { dest, baseUrl: base, retries: 0 });
    expect(requests.filter((r) => r.id === 11).at(-1)?.range).toBe(`bytes=${partial}-`);
    expect(await readdir(dest)).not.toContain('HAM10000_images_part_1.zip.part');
  });

  it('deletes a download whose checksum does not match and says so', async () => {
    const dest = await newDest();
    files[13] = { bytes: files[13].bytes, original: new TextEncoder().encode(`${CSV}tampered\n`) };
    await expect(fetchDataset('ham10000', { dest, baseUrl: base })).rejects.toThrow(
      new RegExp(
        `expected MD5 ${md5(CSV)} for \\S+datafile/13\\?format=original but received [0-9a-f]{32} \\(the damaged download was deleted\\)`,
      ),
    );
    const left = await readdir(dest);
    expect(left).not.toContain('HAM10000_metadata.csv.part');
    expect(left).not.toContain('HAM10000_metadata.csv');
  });

  it('rejects an unknown dataset and a server that is not Dataverse', async () => {
    const dest = await newDest();
    await expect(fetchDataset('imagenet', { dest, baseUrl: base })).rejects.toThrow(
      'expected one of ham10000 for the dataset to fetch but received "imagenet"',
    );
    await expect(fetchDataset('ham10000', { dest, baseUrl: `${base}/nope` })).rejects.toThrow(
      /HTTP 404; is .* a Dataverse server\?/,
    );
  });

  it.each([
    '../outside.csv',
    '../../etc/cron.d/x',
    '/tmp/abs.csv',
    'sub/inner.csv',
    '..\\win.csv',
    'C:evil.csv',
    '..',
    '.bashrc',
    '',
    'nul\u0000.csv',
  ])('refuses the server-supplied file name %j before downloading anything', async (bad) => {
    const root = await newDest();
    const dest = join(root, 'dest');
    const metadata = (listing as ListingShape).data.latestVersion.files[2]!.dataFile;
    metadata.originalFileName = bad;
    const error = await fetchDataset('ham10000', { dest, baseUrl: base }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'E_DOWNLOAD',
      message: `expected a plain file name (no folder, no leading dot) for the name of HAM10000_metadata.tab (file 13) in the listing from ${base} but received ${JSON.stringify(bad)}; refusing to write outside --dest; check --base-url (is this server the real Dataverse?)`,
    });
    expect(requests).toEqual([]);
    expect(await readdir(root)).toEqual(['dest']);
    expect(await readdir(dest)).toEqual([]);
  });
});

interface ListingShape {
  data: { latestVersion: { files: { dataFile: { originalFileName?: string } }[] } };
}
