import { SingleBar } from 'cli-progress';
import { parsePreprocessSpec } from '../core/preprocess/spec-schema.js';
import { loadDataset } from '../node/data/load-dataset.js';
import { prepareImageCache } from '../node/preprocess/prepare-image-cache.js';
import { consoleLogger } from './console-logger.js';
import { DATASET_FLAGS, datasetOptions } from './flags/dataset.js';
import { PREPROCESS_FLAGS, sideFlag } from './flags/preprocess.js';
import { booleanFlag, defineFlags, flagCommand, intFlag, textFlag } from './flags/table.js';

const flags = defineFlags({
  ...DATASET_FLAGS,
  size: sideFlag('Square input size in pixels', 224),
  width: sideFlag('Input width (overrides --size)'),
  height: sideFlag('Input height (overrides --size)'),
  ...PREPROCESS_FLAGS,
  'cache-dir': textFlag({ default: '.cache/lesionlab', description: 'Folder that holds image caches' }),
  concurrency: intFlag(
    'Images decoded at once (default: 3 per worker thread, or 2 per CPU without workers)',
    {
      min: 1,
      max: 256,
    },
  ),
  workers: intFlag('Decode worker threads, 0 = main thread (default: min(4, CPUs); 0 below 500 images)', {
    min: 0,
    max: 64,
  }),
  'skip-bad-images': booleanFlag({
    default: false,
    description: 'Leave undecodable images out instead of failing',
  }),
});

/** `lesionlab prepare <root>`: decode and resize every image once into the on-disk image cache. */
export const prepareCommand = flagCommand(flags, {
  meta: {
    name: 'prepare',
    description: 'Decode and resize a dataset into the image cache (done once per size and policy)',
  },
  async run(a, args) {
    const spec = parsePreprocessSpec(
      {
        width: a.width ?? a.size,
        height: a.height ?? a.size,
        resize: a.resize,
        colorConstancy: a['color-constancy'],
      },
      'options:',
    );
    const dataset = await loadDataset(a.root, datasetOptions(args, consoleLogger));
    const bar = new SingleBar({
      format: 'decoding {bar} {value}/{total} images | {eta_formatted} left',
      stream: process.stderr,
    });
    let decoded = 0;
    const t0 = performance.now();
    const cache = await prepareImageCache(dataset.records, spec, {
      cacheRoot: a['cache-dir'],
      concurrency: a.concurrency,
      workers: a.workers,
      skipBadImages: a['skip-bad-images'],
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
