#!/usr/bin/env node
// The `lesionlab` command. An installed package runs its compiled CLI (dist/, no TypeScript loader needed); a
// checkout, which has src/, runs the sources through tsx without a build step, so a dist/ left over from an
// earlier `npm run build` or `npm pack` is never what runs while the sources change.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/cli/main.js');
}
