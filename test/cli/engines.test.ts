import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

type Semver = {
  satisfies(version: string, range: string): boolean;
  minVersion(range: string): { version: string } | null;
};
const semver = createRequire(import.meta.url)('semver') as Semver;

/**
 * Packages whose declared `engines.node` is stricter than what they need, with why we accept them:
 * cookie 2 (fastify → light-my-request) declares >=22 but runs on Node 20 (the serve tests run it here).
 */
const KNOWN_STRICTER: Readonly<Record<string, string>> = { cookie: '>=22' };

/** Every installed package (nested node_modules included) with the `engines.node` range it declares. */
async function installedEngines(dir = 'node_modules'): Promise<{ name: string; range: string }[]> {
  const found: { name: string; range: string }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.name.startsWith('@')) {
      found.push(...(await installedEngines(path)));
      continue;
    }
    const json = await readFile(join(path, 'package.json'), 'utf8').catch(() => null);
    const range = json ? (JSON.parse(json) as { engines?: { node?: string } }).engines?.node : undefined;
    if (json && typeof range === 'string') found.push({ name: JSON.parse(json).name, range });
    found.push(...(await installedEngines(join(path, 'node_modules')).catch(() => [])));
  }
  return found;
}

describe('package.json engines', () => {
  it('every Node version our range allows at its lower bounds satisfies what each installed package needs', async () => {
    const ours = (JSON.parse(await readFile('package.json', 'utf8')) as { engines: { node: string } }).engines
      .node;
    const floors = ours.split('||').map((part) => semver.minVersion(part.trim())?.version ?? '?');
    expect(floors).toEqual(['20.19.0', '22.12.0']);
    expect(semver.satisfies(process.versions.node, ours)).toBe(true);
    const refused = (await installedEngines())
      .filter(({ name, range }) => KNOWN_STRICTER[name] !== range)
      .flatMap(({ name, range }) =>
        floors
          .filter((floor) => !semver.satisfies(floor, range))
          .map((floor) => `${name} (${range}) refuses ${floor}`),
      );
    expect([...new Set(refused)]).toEqual([]);
  });
});
