import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ModelFigures } from '../browser/model-figures.js';
import { expected } from '../core/errors.js';
import type { ReportData } from '../core/eval/report-data.js';
import { readModelBundle } from '../node/bundle/index.js';
import { createClassifier } from '../node/infer/index.js';
import { headlineVariant } from '../node/report/format.js';
import { buildWebPage, hasWebSource, WEB_DIST } from '../node/web/build-page.js';
import { createServer } from '../serve/index.js';
import { consoleLogger } from './console-logger.js';
import { LISTEN_FLAGS, MODEL_ARG } from './flags/serving.js';
import { booleanFlag, defineFlags, flagCommand, textFlag } from './flags/table.js';
import { listenAndAnnounce, tokenArg, untilSignal } from './serve-args.js';

const flags = defineFlags({
  model: MODEL_ARG,
  ...LISTEN_FLAGS,
  token: textFlag({
    description: 'require "Authorization: Bearer <token>" on the API, /v1/* (default: $LESIONLAB_TOKEN)',
  }),
  rebuild: booleanFlag({
    description: 'rebuild the page (web/dist) from its source first (in a clone of the repository)',
    default: false,
  }),
});

/** `lesionlab web <model>`: the in-browser classifier page (plus the HTTP API) for one model bundle. */
export const webCommand = flagCommand(flags, {
  meta: {
    name: 'web',
    description: 'Serve the web page that classifies images in the browser with a model bundle',
  },
  async run(a) {
    const token = tokenArg(a.token);
    const built = await stat(join(WEB_DIST, 'app.js')).then(
      () => true,
      () => false,
    );
    if (a.rebuild && !(await hasWebSource())) {
      throw expected({
        what: 'a clone of the lesionlab repository (with the page source web/src/main.ts)',
        where: '--rebuild',
        received: 'an installed package, which ships the page built (web/dist) only',
        fix: 'leave out --rebuild to serve the shipped page',
        code: 'E_USAGE',
      });
    }
    if (a.rebuild || !built) consoleLogger.info(`built the page into ${await buildWebPage()}`);
    const bundle = await withEvaluatedFigures(await readModelBundle(a.model));
    const classifier = await createClassifier(bundle.dir);
    const web = { distDir: WEB_DIST, bundle };
    const app = await createServer(classifier, { token, logger: consoleLogger, web });
    await listenAndAnnounce(
      app,
      consoleLogger,
      a,
      token,
      (url) =>
        `open ${url}/ — images are classified in the browser (the API is at ${url}/v1/predict too${token ? ', bearer token required' : ''})`,
    );
    await untilSignal();
    await app.close();
    await classifier.dispose();
  },
});

/**
 * The bundle as the page sees it: when its run was evaluated (`<run>/eval-test/report.json`) and the bundle
 * carries no figures of its own, the report's balanced accuracy, interval and per-class recall are added as
 * `metrics.evaluation`, so the page shows them next to each prediction. Nothing is written.
 */
export async function withEvaluatedFigures<T extends Awaited<ReturnType<typeof readModelBundle>>>(
  bundle: T,
): Promise<T> {
  const metrics = bundle.meta.metrics ?? {};
  if (metrics.evaluation) return bundle;
  const text = await readFile(join(dirname(bundle.dir), 'eval-test', 'report.json'), 'utf8').catch(
    () => null,
  );
  if (text === null) return bundle;
  const evaluation = figuresFromReport(JSON.parse(text) as ReportData);
  return { ...bundle, meta: { ...bundle.meta, metrics: { ...metrics, evaluation } } };
}

/**
 * The figures of an evaluation report (`lesionlab evaluate`'s report.json): its headline variant's balanced
 * accuracy and bootstrap interval, and each class's recall (null for a class with no image) and support.
 */
export function figuresFromReport(report: ReportData): ModelFigures {
  const variant = headlineVariant(report.variants);
  const m = variant.metrics;
  const ci = m.bootstrap?.balancedAccuracy;
  return {
    split: report.data.split,
    images: report.data.images,
    views: variant.label,
    balancedAccuracy: m.balancedAccuracy,
    ...(ci ? { interval: { lower: ci.lower, upper: ci.upper, level: m.bootstrap?.level ?? 0.95 } } : {}),
    recall: Object.fromEntries(m.perClass.map((c) => [c.name, c.support > 0 ? c.recall : null])),
    support: Object.fromEntries(m.perClass.map((c) => [c.name, c.support])),
  };
}
