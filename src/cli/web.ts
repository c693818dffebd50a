import { stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import { readModelBundle } from '../node/bundle/index.js';
import { createClassifier } from '../node/infer/index.js';
import { createServer } from '../serve/index.js';
import { buildWebPage, WEB_DIST } from '../serve/web-build.js';
import { consoleLogger } from './console-logger.js';
import { announceListening, intArg, tokenArg, untilSignal } from './serve-args.js';

/** `lesionlab web <model>`: the in-browser classifier page (plus the HTTP API) for one model bundle. */
export const webCommand = defineCommand({
  meta: {
    name: 'web',
    description: 'Serve the web page that classifies images in the browser with a model bundle',
  },
  args: {
    model: { type: 'positional', description: 'model bundle folder or training run folder', required: true },
    port: { type: 'string', description: 'TCP port (0 picks a free one)', default: '8080' },
    host: { type: 'string', description: 'address to bind', default: '127.0.0.1' },
    token: {
      type: 'string',
      description: 'require "Authorization: Bearer <token>" on the API, /v1/* (default: $LESIONLAB_TOKEN)',
    },
    rebuild: { type: 'boolean', description: 'rebuild the page (web/dist) first', default: false },
  },
  async run({ args }) {
    const port = intArg(args.port, 'port', 0, 65535) ?? 8080;
    const token = tokenArg(args.token);
    const built = await stat(join(WEB_DIST, 'app.js')).then(
      () => true,
      () => false,
    );
    if (args.rebuild || !built) consoleLogger.info(`built the page into ${await buildWebPage()}`);
    const bundle = await readModelBundle(args.model);
    const classifier = await createClassifier(bundle.dir);
    const web = { distDir: WEB_DIST, bundle };
    const app = await createServer(classifier, { token, logger: consoleLogger, web });
    await app.listen({ port, host: args.host });
    const bound = (app.server.address() as AddressInfo).port;
    announceListening(
      consoleLogger,
      args.host,
      bound,
      token,
      (url) =>
        `open ${url}/ — images are classified in the browser (the API is at ${url}/v1/predict too${token ? ', bearer token required' : ''})`,
    );
    await untilSignal();
    await app.close();
    await classifier.dispose();
  },
});
