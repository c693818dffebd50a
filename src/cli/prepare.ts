import { type ArgsDef, defineCommand } from 'citty';
import { SingleBar } from 'cli-progress';
import { parsePreprocessSpec } from '../core/preprocess/spec-schema.js';
import { loadDataset } from '../node/data/load-dataset.js';
import { prepareImageCache } from '../node/preprocess/prepare-image-cache.js';
import { consoleLogger } from './console-logger.js';
import { datasetArgs, datasetOptions } from './inspect.js';
import { intArg } from './serve-args.js';

/** The preprocessing flags that `prepare` and `augment-preview` share. */
export const preprocessArgs = {
  resize: {
    type: 'enum',
    options: ['stretch', 'pad', 'crop'],
    default: 'stretch',
    description: 'Aspect policy',
  },
  'color-constancy': {
    type: 'boolean',
    default: false,
    description: 'Shades-of-Gray colour constancy (p = 6), applied before resizing',
  },
} satisfies ArgsDef;

/** `lesionlab prepare <root>`: decode and resize every image once into the on-disk image cache. */
export const prepareCommand = defineCommand({
  meta: {
    name: 'prepare',
    description: 'Decode and resize a dataset into the image cache (done once per size and policy)',
  },
  args: {
    ...datasetArgs,
    size: { type: 'string', default: '224', description: 'Square input size in pixels' },
    width: { type: 'string', description: 'Input width (overrides --size)' },
    height: { type: 'string', description: 'Input height (overrides --size)' },
    ...preprocessArgs,
    'cache-dir': {
      type: 'string',
      default: '.cache/lesionlab',
      description: 'Folder that holds image caches',
    },
    concurrency: {
      type: 'string',
      description: 'Images decoded at once (default: 3 per worker thread, or 2 per CPU without workers)',
    },
    workers: {
      type: 'string',
      description: 'Decode worker threads, 0 = main thread (default: min(4, CPUs); 0 below 500 images)',
    },
    'skip-bad-images': {
      type: 'boolean',
      default: false,
      description: 'Leave undecodable images out instead of failing',
    },
  },
  async run({ args }) {
    const spec = parsePreprocessSpec(
      {
        width: Number(args.width ?? args.size),
        height: Number(args.height ?? args.size),
        resize: args.resize,
        colorConstancy: args['color-constancy'],
      },
      'options:',
    );
    const dataset = await loadDataset(args.root, datasetOptions(args, consoleLogger));
    const bar = new SingleBar({
      format: 'decoding {bar} {value}/{total} images | {eta_formatted} left',
      stream: process.stderr,
    });
    let decoded = 0;
    const t0 = performance.now();
    const cache = await prepareImageCache(dataset.records, spec, {
      cacheRoot: args['cache-dir'],
      concurrency: intArg(args.concurrency, 'concurrency', 1, 256),
      workers: intArg(args.workers, 'workers', 0, 64),
      skipBadImages: args['skip-bad-images'],
      skipAdvice: 'pass --skip-bad-images to leave bad images out',
      logger: consoleLogger,
      onProgress: (done, total) => {
        if (decoded++ === 0) bar.start(total, 0);
        bar.update(done);
      },
    }).finally(() => bar.stop());
    const seconds = (performance.now() - t0) / 1000;
    const gb = (cache.count * cache.imageBytes) / 1e9;
    const speed =
      decoded > 0
        ? `built in ${seconds.toFixed(1)} s (${Math.round(decoded / seconds)} images/s)`
        : 'reused (no decoding)';
    consoleLogger.info(`image cache: ${cache.dir}`);
    consoleLogger.info(
      `  ${cache.count} images, ${spec.width}x${spec.height} ${spec.resize}${spec.colorConstancy ? ' + Shades-of-Gray' : ''}, ${gb.toFixed(2)} GB, ${speed}`,
    );
    if (cache.skipped.length > 0)
      consoleLogger.warn(
        `${cache.skipped.length} images skipped: ${cache.skipped.map((s) => s.id).join(', ')}`,
      );
    await cache.close();
  },
});
