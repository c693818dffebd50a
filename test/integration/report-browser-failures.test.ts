import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { inspectReport, screenshotReport } from '../../src/node/report/browser.js';

// Stand-ins for a Chromium that hangs, one that cannot start and one that is not executable: tiny shell
// scripts, no browser needed.
const dir = mkdtempSync(join(tmpdir(), 'lesionlab-browser-'));
const html = join(dir, 'report.html');
writeFileSync(html, '<figure data-chart="x"></figure>');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const saved = process.env.LESIONLAB_CHROMIUM;
afterEach(() => {
  if (saved === undefined) delete process.env.LESIONLAB_CHROMIUM;
  else process.env.LESIONLAB_CHROMIUM = saved;
});

function stub(name: string, script: string, mode = 0o755): string {
  const path = join(dir, name);
  writeFileSync(path, script);
  chmodSync(path, mode);
  process.env.LESIONLAB_CHROMIUM = path;
  return path;
}

/** True while process `pid` exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('inspectReport with a Chromium that does not work', () => {
  it('gives up on a hanging Chromium after the timeout, with one E_MISSING_FILE line, and kills it', async () => {
    const pidFile = join(dir, 'hanging.pid');
    const path = stub('hanging-chromium', `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 1000\n`);
    const started = performance.now();
    const error = await inspectReport(html, undefined, { timeoutMs: 1500 }).catch((e: Error) => e);
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(error).toMatchObject({
      name: 'LesionlabError',
      code: 'E_MISSING_FILE',
      message: `expected a Chromium that can start for ${path} but received browserType.launch: Timeout 1500ms exceeded; check it runs (chromium --headless --version), install Debian's (apt install chromium) or set LESIONLAB_CHROMIUM`,
    });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false);
  });

  it('says what a Chromium that exits at once wrote to stderr, in one line, with --screenshot too', async () => {
    const path = stub(
      'broken-chromium',
      '#!/bin/sh\necho "chromium: error while loading shared libraries: libnss3.so" >&2\nexit 127\n',
    );
    const error = await screenshotReport(html, join(dir, 'report.png')).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'LesionlabError', code: 'E_MISSING_FILE' });
    const { message } = error as Error;
    expect(message).not.toContain('\n');
    expect(message).toMatch(
      new RegExp(
        `^expected a Chromium that can start for ${path} but received browserType\\.launch: .*` +
          `\\(Chromium's stderr: chromium: error while loading shared libraries: libnss3\\.so\\); check it runs`,
      ),
    );
    expect(message.length).toBeLessThan(400);
  });

  it('reports a file that is not executable in one line', async () => {
    const path = stub('noexec-chromium', 'not exec', 0o644);
    await expect(inspectReport(html)).rejects.toMatchObject({
      code: 'E_MISSING_FILE',
      message: expect.stringMatching(
        new RegExp(
          `^expected a Chromium that can start for ${path} but received browserType\\.launch: .*EACCES; `,
        ),
      ),
    });
  });
});
