import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bindingBuildCommand,
  bindingPath,
  diskUsage,
  findTfjsNode,
  installOnline,
  isBuiltAgainst,
  isWheelMemberNeeded,
  markBuilt,
  stageDeps,
  unpackWheel,
} from '../../src/node/backend/native-build.js';

const ROOT = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'lesionlab-native-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const bytes = (text: string) => new TextEncoder().encode(text);

/** A stand-in tensorflow-cpu wheel: the two libraries, C-API headers and members the build must skip. */
function fakeWheel(name: string): string {
  const path = join(work, name);
  const files: Record<string, Uint8Array> = {
    'tensorflow/libtensorflow_cc.so.2': bytes('cc library'),
    'tensorflow/libtensorflow_framework.so.2': bytes('framework library'),
    'tensorflow/include/tensorflow/c/c_api.h': bytes('#include "tensorflow/c/tf_status.h"'),
    'tensorflow/include/tensorflow/c/eager/c_api.h': bytes('// eager'),
    'tensorflow/include/tsl/platform/ctstring.h': bytes('// ctstring'),
    'tensorflow/include/xla/tsl/c/tsl_status.h': bytes('// tsl status'),
    'tensorflow/include/tensorflow/core/framework/tensor.h': bytes('// C++ only'),
    'tensorflow/python/_pywrap_tfe.so': bytes('python only'),
  };
  writeFileSync(path, zipSync(files));
  return path;
}

describe('unpackWheel and stageDeps (npm run native:build, steps 2-3)', () => {
  it('picks the two libraries and the C-API header closure, nothing else', () => {
    expect(isWheelMemberNeeded('tensorflow/libtensorflow_cc.so.2')).toBe(true);
    expect(isWheelMemberNeeded('tensorflow/include/tensorflow/c/eager/c_api.h')).toBe(true);
    expect(isWheelMemberNeeded('tensorflow/include/tensorflow/core/platform/ctstring_internal.h')).toBe(true);
    expect(isWheelMemberNeeded('tensorflow/include/tensorflow/core/framework/tensor.h')).toBe(false);
    expect(isWheelMemberNeeded('tensorflow/python/_pywrap_tfe.so')).toBe(false);
  });

  it('unpacks once per wheel, then stages deps/ with hard links and the names tfjs-node expects', async () => {
    const wheel = fakeWheel('tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl');
    const unpacked = join(work, 'unpacked');
    expect((await unpackWheel(wheel, unpacked)).files).toBe(6);
    expect(existsSync(join(unpacked, 'tensorflow/python'))).toBe(false);
    expect((await unpackWheel(wheel, unpacked)).files).toBe(0);

    const pkg = join(work, 'tfjs-node');
    expect(await stageDeps(pkg, unpacked)).toBe(true);
    const lib = join(pkg, 'deps', 'lib');
    const source = statSync(join(unpacked, 'tensorflow', 'libtensorflow_cc.so.2'));
    expect(statSync(join(lib, 'libtensorflow_cc.so.2')).ino).toBe(source.ino);
    expect(readFileSync(join(lib, 'libtensorflow.so.2.9.1'), 'utf8')).toBe('cc library');
    expect(readFileSync(join(lib, 'libtensorflow.so'), 'utf8')).toBe('cc library');
    expect(readFileSync(join(lib, 'libtensorflow_framework.so'), 'utf8')).toBe('framework library');
    expect(existsSync(join(pkg, 'deps', 'include', 'xla', 'tsl', 'c', 'tsl_status.h'))).toBe(true);
    expect(await stageDeps(pkg, unpacked)).toBe(false);
    // Hard links: the staged libraries take no space beyond the unpacked ones.
    const seen = new Set<number>();
    const first = await diskUsage([unpacked], seen);
    expect(await diskUsage([join(pkg, 'deps', 'lib')], seen)).toBe(0);
    expect(first).toBeGreaterThan(0);
  });

  it('unpacks again from a different wheel, and refuses a wheel without the libraries', async () => {
    const unpacked = join(work, 'unpacked2');
    await unpackWheel(fakeWheel('tensorflow_cpu-2.21.0-cp311-a.whl'), unpacked);
    expect((await unpackWheel(fakeWheel('tensorflow_cpu-2.21.0-cp312-b.whl'), unpacked)).files).toBe(6);
    const empty = join(work, 'empty.whl');
    writeFileSync(empty, zipSync({ 'README.txt': bytes('no libraries') }));
    await expect(unpackWheel(empty, join(work, 'unpacked3'))).rejects.toMatchObject({
      code: 'E_BACKEND',
      message: expect.stringMatching(
        /^expected a tensorflow_cpu-2\.21\.0-\*manylinux\*x86_64\.whl holding .* for .*empty\.whl but received a wheel without either of them; pass --wheel with one, or run npm run native:build without --wheel to download it$/,
      ),
    });
  });
});

describe('the binding build (npm run native:build, step 4)', () => {
  it('rebuilds only the newest N-API version from source with local Node headers', async () => {
    const pkg = findTfjsNode(ROOT);
    const spec = bindingBuildCommand(pkg);
    expect(spec.cwd).toBe(pkg);
    expect(spec.args.slice(1)).toEqual([
      'rebuild',
      '--build-from-source',
      '--build-latest-napi-version-only',
    ]);
    expect(existsSync(join(spec.env['npm_config_nodedir']!, 'include', 'node', 'node_api.h'))).toBe(true);
    expect(await bindingPath(pkg)).toMatch(/lib\/napi-v8\/tfjs_binding\.node$/);
  });

  it('leaves one tfjs-core in the process: tfjs-node resolves the same copy as lesionlab', () => {
    const pkg = findTfjsNode(ROOT);
    expect(existsSync(join(pkg, 'node_modules', '@tensorflow'))).toBe(false);
    const fromNode = createRequire(join(pkg, 'package.json')).resolve('@tensorflow/tfjs-core');
    expect(fromNode).toBe(createRequire(join(ROOT, 'package.json')).resolve('@tensorflow/tfjs-core'));
  });

  it('remembers which wheel a binding was built against', async () => {
    const binding = join(work, 'lib', 'napi-v8', 'tfjs_binding.node');
    mkdirSync(dirname(binding), { recursive: true });
    writeFileSync(binding, 'addon');
    expect(await isBuiltAgainst(binding, '/x/tensorflow_cpu-2.21.0-a.whl')).toBe(false);
    await markBuilt(binding, '/x/tensorflow_cpu-2.21.0-a.whl');
    expect(await isBuiltAgainst(binding, '/y/tensorflow_cpu-2.21.0-a.whl')).toBe(true);
    expect(await isBuiltAgainst(binding, '/x/tensorflow_cpu-2.21.0-b.whl')).toBe(false);
  });
});

/** A .tar.gz of `files` (relative paths) made by the system tar. */
function tarball(name: string, files: Record<string, string>): Buffer {
  const dir = mkdtempSync(join(work, 'tar-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const out = join(work, name);
  execFileSync('tar', ['-czf', out, '-C', dir, ...Object.keys(files)]);
  return readFileSync(out);
}

describe('npm run native:install (tfjs-node own installer) against a loopback mirror', () => {
  let server: Server | undefined;
  afterAll(() => server?.close());

  it('fetches libtensorflow and the prebuilt binding from the mirrors the env names, replacing a source build', async () => {
    const served: Record<string, Buffer> = {
      '/libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz': tarball('lib.tar.gz', {
        'lib/libtensorflow.so.2.9.1': 'lib',
        'lib/libtensorflow_framework.so.2.9.1': 'fw',
        'include/tensorflow/c/c_api.h': '// h',
      }),
      '/napi-v8/4.22.0/CPU-linux-4.22.0.tar.gz': tarball('bin.tar.gz', {
        'napi-v8/tfjs_binding.node': 'addon',
      }),
    };
    const requests: string[] = [];
    server = createServer((req, res) => {
      requests.push(req.url!);
      const body = served[req.url!];
      res.writeHead(body ? 200 : 404, { 'content-length': body?.length ?? 0 }).end(body);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;

    // A copy of the installed package (its installer, scripts and package.json), so node_modules stays as is.
    const real = findTfjsNode(ROOT);
    const pkg = join(work, 'pkg', 'tfjs-node');
    for (const part of ['package.json', 'scripts'])
      cpSync(join(real, part), join(pkg, part), { recursive: true });
    const packageJson = readFileSync(join(pkg, 'package.json'), 'utf8');
    // A binding left by npm run native:build (linked against the wheel's libtensorflow) must not survive.
    mkdirSync(join(pkg, 'lib', 'napi-v8'), { recursive: true });
    writeFileSync(join(pkg, 'lib', 'napi-v8', 'tfjs_binding.node'), 'built from source');
    const env = {
      ...process.env,
      NODE_PATH: realpathSync(join(ROOT, 'node_modules')),
      TFJS_NODE_BASE_URI: `http://127.0.0.1:${port}/libtensorflow-`,
      npm_config_tfjs_binding_binary_host_mirror: `http://127.0.0.1:${port}/`,
      ...{ HTTPS_PROXY: '', https_proxy: '', HTTP_PROXY: '', http_proxy: '', npm_config_proxy: '' },
    };
    await installOnline(pkg, join(ROOT, 'node_modules', '.bin'), () => {}, env);
    expect(requests).toEqual(Object.keys(served));
    expect(readFileSync(join(pkg, 'deps', 'lib', 'libtensorflow.so.2.9.1'), 'utf8')).toBe('lib');
    expect(readFileSync(join(pkg, 'lib', 'napi-v8', 'tfjs_binding.node'), 'utf8')).toBe('addon');
    expect(readFileSync(join(pkg, 'package.json'), 'utf8').trim()).toBe(packageJson.trim());
  });
});
