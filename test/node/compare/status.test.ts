import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareEvaluations } from '../../../src/node/compare/compare.js';
import { loadEvaluatedModel } from '../../../src/node/compare/load.js';
import { writeRunStatus } from '../../../src/node/train/run-dir.js';

const work = await mkdtemp(join(tmpdir(), 'compare-status-'));
afterAll(() => rm(work, { recursive: true, force: true }));

async function run(
  name: string,
  ...status: Parameters<typeof writeRunStatus> extends [string, ...infer R] ? R : never
): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeRunStatus(dir, ...status);
  return dir;
}

describe('compare on runs that did not finish (status.json)', () => {
  it('names a failed run and its error instead of "run evaluate first"', async () => {
    const dir = await run('failed', 'failed', { code: 'E_DATA', message: 'images not found' });
    const error = loadEvaluatedModel(join(dir, 'eval-test'));
    await expect(error).rejects.toThrow(
      `expected an evaluation folder (with report.json) for ${join(dir, 'eval-test')} but received training run ${dir}, which failed (images not found), so there is nothing to compare; fix the cause and run \`lesionlab train --resume ${dir}\`, or leave it out`,
    );
    await expect(error).rejects.toMatchObject({ code: 'E_RUN' });
  });
  it('names an interrupted run and a still-running one, whether the run or its eval folder is passed', async () => {
    const stopped = await run('stopped', 'interrupted');
    await expect(loadEvaluatedModel(stopped)).rejects.toThrow(
      /^expected an evaluation folder \(with report\.json\) for .*stopped but received training run .*stopped, which was interrupted and has no evaluation; continue it with `lesionlab train --resume .*stopped`, then run `lesionlab evaluate .*stopped`$/,
    );
    const running = await run('running', 'running');
    await expect(loadEvaluatedModel(join(running, 'eval-test'))).rejects.toThrow(
      new RegExp(
        `but received training run \\S+running, which has not finished \\(status.json says running, pid ${process.pid}; or it was killed\\); wait for it`,
      ),
    );
  });
  it('tells a finished run from its evaluation folder', async () => {
    const done = await run('done', 'complete');
    await expect(loadEvaluatedModel(done)).rejects.toThrow(
      `expected an evaluation folder (with report.json) for ${done} but received a finished training run; run \`lesionlab evaluate ${done}\` and pass ${join(done, 'eval-test')}`,
    );
    await expect(loadEvaluatedModel(join(done, 'eval-test'))).rejects.toThrow(
      `expected an evaluation folder (with report.json) for ${join(done, 'eval-test')} but received nothing at ${join(done, 'eval-test', 'report.json')}: the run finished but this evaluation was not made; run \`lesionlab evaluate ${done}\``,
    );
  });
  it('compareEvaluations stops on the unfinished run with its line', async () => {
    const failed = join(work, 'failed');
    await expect(
      compareEvaluations([join(failed, 'eval-test'), join(work, 'done')], join(work, 'out')),
    ).rejects.toThrow(/failed \(images not found\)/);
  });
  it('refuses a report.json without variants with E_RUN, naming the file and the fix', async () => {
    const dir = join(work, 'empty-report');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'report.json'), JSON.stringify({ variants: [] }));
    await expect(loadEvaluatedModel(dir)).rejects.toMatchObject({
      code: 'E_RUN',
      message: `expected at least one evaluated variant for ${join(dir, 'report.json')} but received none; run \`lesionlab evaluate\` on the run again`,
    });
  });
  it('keeps the plain "not found" line for a folder that is no run', async () => {
    await expect(loadEvaluatedModel(join(work, 'nothing', 'eval-test'))).rejects.toThrow(
      /^expected an evaluation folder \(with report\.json\) for .*nothing\/eval-test but received nothing at .*nothing\/eval-test\/report\.json \(not found\); run `lesionlab evaluate` on the run first$/,
    );
  });
});
