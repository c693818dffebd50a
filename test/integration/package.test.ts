// The package as a user gets it: `npm pack` (its prepack builds dist/ and the web page), the tarball installed
// into a fresh project in the temp folder, both entries imported by plain `node` (no tsx), the declared types
// and the README's example checked by tsc, and the installed CLI run (its decode workers start from dist/).
//
// How the tarball is installed: `npm install <tarball> --prefer-offline --no-audit --no-fund` took 34 s and
// wrote 917 MB here even from a warm npm cache, too slow and too large for the default suite. So the tarball is
// unpacked into node_modules/lesionlab exactly as npm lays it out, and each dependency the packed package.json
// declares is a symlink to the copy this checkout already installed. Only declared dependencies are linked and
// the project lies outside the checkout, so an import of an undeclared package fails as it would for a user.
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const REPO = process.cwd();
const SAMPLE = join(REPO, 'data/sample/ham10000');

let root: string;
let project: string;
let installed: string;
let packed: string[];

/** What the consumer script below prints: the entries' export names and how typed errors came out. */
interface ImportReport {
  readonly resolved: string;
  readonly browserResolved: string;
  readonly node: string[];
  readonly browser: string[];
  readonly config: { code: string; name: string; isLesionlabError: boolean; sameClass: boolean };
  readonly missing: { code: string; message: string };
  readonly made: { code: string; isLesionlabError: boolean };
}

const CONSUMER_SCRIPT = `
import * as lib from 'lesionlab';
import * as browser from 'lesionlab/browser';

const errorOf = async (f) => { try { await f(); } catch (error) { return error; } throw new Error('no error'); };
const config = await errorOf(() => lib.parseTrainConfig({ model: { backbone: 'no_such_backbone' } }));
const missing = await errorOf(() => lib.loadDataset(process.argv[2]));
const made = new browser.LesionlabError('E_INPUT', 'made by the consumer');
console.log(JSON.stringify({
  resolved: import.meta.resolve('lesionlab'),
  browserResolved: import.meta.resolve('lesionlab/browser'),
  node: Object.keys(lib).sort(),
  browser: Object.keys(browser).sort(),
  config: { code: config.code, name: config.name, isLesionlabError: lib.isLesionlabError(config), sameClass: config instanceof browser.LesionlabError },
  missing: { code: missing.code, message: missing.message },
  made: { code: made.code, isLesionlabError: lib.isLesionlabError(made) },
}));
`;

const CONSUMER_TS = `
import { type Dataset, LesionlabError, type LesionlabErrorCode, loadDataset } from 'lesionlab';
import { loadWebModel, type WebModel, type WebModelUrls } from 'lesionlab/browser';
// @ts-expect-error a building block, not part of the public surface
import { writeFileAtomic } from 'lesionlab';
// @ts-expect-error files of the package are reached through its two entries only
import { LesionlabError as Deep } from 'lesionlab/dist/core/errors.js';

const wanted: LesionlabErrorCode = 'E_MISSING_FILE';
export async function load(root: string): Promise<Dataset | null> {
  try {
    return await loadDataset(root);
  } catch (error) {
    if (error instanceof LesionlabError && error.code === wanted) return null;
    throw error;
  }
}
export const page: (urls: WebModelUrls) => Promise<WebModel> = loadWebModel;
export const unused = [writeFileAtomic, Deep];
`;

/** Symlinks `name` from this checkout's node_modules into the project's; false when the checkout lacks it. */
async function linkDependency(name: string): Promise<boolean> {
  const target = join(REPO, 'node_modules', name);
  if (
    !(await access(target).then(
      () => true,
      () => false,
    ))
  )
    return false;
  const link = join(project, 'node_modules', name);
  await mkdir(dirname(link), { recursive: true });
  await symlink(target, link, 'dir');
  return true;
}

/** The TypeScript example of the README's "Use as a library" section. */
async function readmeExample(): Promise<string> {
  const readme = await readFile(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use as a library'));
  const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!readme.includes('## Use as a library') || !example)
    throw new Error('README.md: no ts example under "Use as a library"');
  return example;
}

/** The installed package's own bin script, run by plain node from the project folder. */
function installedCli(...args: string[]) {
  return run(process.execPath, [join(installed, 'bin/lesionlab.js'), ...args], {
    cwd: project,
    maxBuffer: 1 << 24,
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-package-'));
  // This checkout's .npmrc turns lifecycle scripts off; the flag turns them on so prepack builds what is packed.
  const pack = await run('npm', ['pack', '--ignore-scripts=false', '--json', '--pack-destination', root], {
    cwd: REPO,
    maxBuffer: 1 << 26,
  });
  const [result] = JSON.parse(pack.stdout.slice(pack.stdout.lastIndexOf('\n[') + 1)) as {
    filename: string;
    files: { path: string }[];
  }[];
  packed = result!.files.map((f) => f.path);
  project = join(root, 'project');
  installed = join(project, 'node_modules', 'lesionlab');
  await mkdir(installed, { recursive: true });
  await run('tar', ['-xzf', join(root, result!.filename), '-C', installed, '--strip-components=1']);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  for (const name of Object.keys(manifest.dependencies)) {
    if (!(await linkDependency(name)))
      throw new Error(`${name} is not installed in this checkout; run npm ci`);
  }
  for (const name of Object.keys(manifest.optionalDependencies ?? {})) await linkDependency(name);
  // the consumer's own dev tools, for the type check
  for (const name of ['typescript', '@types/node']) await linkDependency(name);
}, 600_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds compiled JavaScript with declarations, the page and the weights, and no TypeScript sources', () => {
    for (const file of [
      'package.json',
      'bin/lesionlab.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/browser/index.js',
      'dist/browser/index.d.ts',
      'dist/cli/main.js',
      'dist/node/preprocess/decode-worker.js',
      'web/dist/app.js',
      'web/dist/index.html',
      'web/dist/ort/ort-wasm-simd-threaded.wasm',
    ]) {
      expect(packed).toContain(file);
    }
    expect(packed.some((f) => f.startsWith('weights/') && f.endsWith('.h5'))).toBe(true);
    expect(
      packed.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('bench/')),
    ).toEqual([]);
    expect(packed.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('imports both entries from plain node, with the same names as the sources and typed errors by code', async () => {
    await writeFile(join(project, 'consume.mjs'), CONSUMER_SCRIPT);
    const missingRoot = join(root, 'no-such-dataset');
    const { stdout } = await run(process.execPath, ['consume.mjs', missingRoot], { cwd: project });
    const report = JSON.parse(stdout) as ImportReport;

    expect(report.resolved).toMatch(/\/project\/node_modules\/lesionlab\/dist\/index\.js$/);
    expect(report.browserResolved).toMatch(/\/project\/node_modules\/lesionlab\/dist\/browser\/index\.js$/);
    const sourceNode = Object.keys(await import('../../src/index.js')).sort();
    const sourceBrowser = Object.keys(await import('../../src/browser/index.js')).sort();
    expect(report.node).toEqual(sourceNode);
    expect(report.browser).toEqual(sourceBrowser);
    expect(report.node).toEqual(
      expect.arrayContaining([
        'LesionlabError',
        'loadDataset',
        'trainRun',
        'evaluateModel',
        'createClassifier',
      ]),
    );
    expect(report.browser).toEqual(
      expect.arrayContaining(['LesionlabError', 'loadWebModel', 'preprocessRgba']),
    );
    expect(report.node).not.toContain('writeFileAtomic');

    expect(report.config).toEqual({
      code: 'E_CONFIG',
      name: 'LesionlabError',
      isLesionlabError: true,
      sameClass: true,
    });
    expect(report.missing.code).toBe('E_MISSING_FILE');
    expect(report.missing.message).toContain(missingRoot);
    expect(report.made).toEqual({ code: 'E_INPUT', isLesionlabError: true });
  });

  it('type-checks a TypeScript consumer and the README example against the declarations', async () => {
    await writeFile(join(project, 'consumer.ts'), CONSUMER_TS);
    await writeFile(join(project, 'readme-example.ts'), await readmeExample());
    const compilerOptions = {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023', 'DOM'],
      types: ['node'],
      strict: true,
      skipLibCheck: true,
      noEmit: true,
    };
    const files = ['consumer.ts', 'readme-example.ts'];
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }));
    const tsc = join(project, 'node_modules/typescript/bin/tsc');
    // tsc prints its errors on stdout; an unused @ts-expect-error (an internal that became reachable) is one too
    const checked = await run(process.execPath, [tsc, '-p', project], { cwd: project }).catch(
      (error: { stdout: string }) => error,
    );
    expect(checked.stdout).toBe('');
  });

  it('runs the installed CLI from dist/, decode workers included', async () => {
    const version = await installedCli('--version');
    expect(version.stdout.trim()).toBe('0.1.0');
    const cacheDir = join(root, 'cache');
    const prepared = await installedCli(
      'prepare',
      SAMPLE,
      '--size',
      '16',
      '--workers',
      '1',
      '--cache-dir',
      cacheDir,
    );
    const output = prepared.stdout + prepared.stderr;
    expect(output).not.toContain('decode workers did not start');
    expect(output).toMatch(/144 images, 16x16 stretch/);
  });
});
