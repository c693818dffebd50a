import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildWebPage, hasWebSource } from '../../../src/node/web/build-page.js';

const root = await mkdtemp(join(tmpdir(), 'build-page-'));
afterAll(() => rm(root, { recursive: true, force: true }));

/** A built page already in place: what an installed package ships, or an earlier build. */
async function shippedPage(dir: string): Promise<void> {
  await mkdir(join(dir, 'ort'), { recursive: true });
  await writeFile(join(dir, 'app.js'), '// shipped');
  await writeFile(join(dir, 'index.html'), '<!doctype html>');
}

/** A page source folder (web/): src/main.ts, index.html, style.css. */
async function pageSource(dir: string, main: string): Promise<void> {
  await mkdir(join(dir, 'src'), { recursive: true });
  await writeFile(join(dir, 'src/main.ts'), main);
  await writeFile(join(dir, 'index.html'), '<!doctype html><script type="module" src="./app.js"></script>');
  await writeFile(join(dir, 'style.css'), 'body { margin: 0 }');
}

describe('buildWebPage never loses the page that is there', () => {
  it('refuses without the page source (an installed package), leaving the shipped page', async () => {
    const webRoot = join(root, 'installed/web');
    const dist = join(webRoot, 'dist');
    await shippedPage(dist);
    expect(await hasWebSource(webRoot)).toBe(false);
    await expect(buildWebPage(dist, webRoot)).rejects.toMatchObject({
      name: 'LesionlabError',
      code: 'E_MISSING_FILE',
      message: expect.stringMatching(/^expected the page source .*src\/main\.ts for building the web page/),
    });
    expect((await readdir(dist)).sort()).toEqual(['app.js', 'index.html', 'ort']);
    expect(await readdir(webRoot)).toEqual(['dist']);
  });

  it('keeps the previous page when the build fails, and leaves no temp folder', async () => {
    const webRoot = join(root, 'broken/web');
    const dist = join(webRoot, 'dist');
    await shippedPage(dist);
    await pageSource(webRoot, 'export const x = ;');
    await expect(buildWebPage(dist, webRoot)).rejects.toThrow();
    expect(await readFile(join(dist, 'app.js'), 'utf8')).toBe('// shipped');
    expect((await readdir(webRoot)).sort()).toEqual(['dist', 'index.html', 'src', 'style.css']);
  });

  it('replaces the previous page with the new build once it is complete', async () => {
    const webRoot = join(root, 'clone/web');
    const dist = join(webRoot, 'dist');
    await shippedPage(dist);
    await pageSource(webRoot, 'document.title = "built";');
    expect(await buildWebPage(dist, webRoot)).toBe(dist);
    expect(await readFile(join(dist, 'app.js'), 'utf8')).toContain('built');
    expect((await readdir(dist)).sort()).toEqual(['app.js', 'app.js.map', 'index.html', 'ort', 'style.css']);
    expect((await readdir(join(dist, 'ort'))).length).toBe(2);
    expect((await readdir(webRoot)).sort()).toEqual(['dist', 'index.html', 'src', 'style.css']);
    // readable by whoever serves it, as a folder made by mkdir (not mkdtemp's private 0700)
    expect((await stat(dist)).mode & 0o777).toBe(0o777 & ~process.umask());
  });
});
