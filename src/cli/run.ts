import { relative } from 'node:path';
import { BACKBONES } from '../core/models/registry.js';
import { evaluateModel } from '../node/evaluate/evaluate.js';
import { consoleLogger } from './console-logger.js';
import { flagCommand } from './flags/table.js';
import { printConfigIfAsked, resolveTrainConfig, trainFlags } from './flags/train.js';
import { trainWithProgress } from './train.js';
import { trainDescription } from './train-help.js';

/** The main job's backbone: its ImageNet weights ship in the repo (weights/), so it works offline. */
const MAIN_BACKBONE = 'mobilenet_v2';

/** Defaults of the main job: the embedded sample, the committed ImageNet backbone, a quick but real recipe. */
const MAIN_JOB_DEFAULTS = {
  data: { root: 'data/sample/ham10000' },
  model: { backbone: MAIN_BACKBONE },
  features: { views: BACKBONES[MAIN_BACKBONE].testViews },
  train: { epochs: 80, batchSize: 32, learningRate: 1e-3 },
};

/** `lesionlab run` (= `npm start`): prepare → train → evaluate on the sample, ending with the report's path. */
export const runCommand = flagCommand(trainFlags, {
  meta: {
    name: 'run',
    description: trainDescription(
      'The main job: train and evaluate on the embedded sample, print the report path and what to do next.',
    ),
  },
  async run(a, args) {
    const config = await resolveTrainConfig(args, MAIN_JOB_DEFAULTS);
    if (printConfigIfAsked(args, config)) return;
    const result = await trainWithProgress(config, a.resume);
    if (result.interrupted || !result.bundleDir) return;
    const evaluation = await evaluateModel({
      target: result.runDir,
      logger: consoleLogger,
      screenshot: false,
    });
    consoleLogger.info(`report: ${evaluation.report.html}`);
    for (const line of nextSteps(result.runDir)) consoleLogger.info(line);
  },
});

/** What to do after the main job: the commands that use its run, then the shipped recipes on the real data. */
export function nextSteps(runDir: string): string[] {
  const run = relative(process.cwd(), runDir) || '.';
  const steps: [string, string][] = [
    [`npx lesionlab web ${run}`, 'classify your own images in the browser with this model'],
    [`npx lesionlab evaluate ${run}`, 'the HTML report again (e.g. on another split: --split val)'],
    ['npx lesionlab fetch ham10000 --dest data/ham10000', 'the full dataset (10,015 images), then:'],
    ['npx lesionlab train --config configs/seed-inception-resnet-v2.json', 'the seed experiment (configs/)'],
    ['npx lesionlab compare --configs configs/seed-densenet121.json,configs/best-mobilenet-v1.json', ''],
  ];
  const width = Math.max(...steps.filter(([, why]) => why).map(([command]) => command.length));
  return [
    'next:',
    ...steps.map(([command, why]) => `  ${why ? `${command.padEnd(width)}  # ${why}` : command}`),
  ];
}
