import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

let jpeg: Buffer | undefined;

/** A real 4x3 JPEG, made once per test file. */
export async function tinyJpeg(): Promise<Buffer> {
  jpeg ??= await sharp({ create: { width: 4, height: 3, channels: 3, background: { r: 200, g: 80, b: 40 } } })
    .jpeg()
    .toBuffer();
  return jpeg;
}

/** Creates a temp folder with the given files (relative path → content; `'jpeg'` writes a valid JPEG). */
export async function makeTree(files: Record<string, string | Buffer>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'lesionlab-data-'));
  for (const [rel, content] of Object.entries(files)) {
    const path = join(root, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content === 'jpeg' ? await tinyJpeg() : content);
  }
  return root;
}
