import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ModelBundle } from '../node/bundle/read.js';
import { ApiError } from './api-error.js';
import { allowOnly } from './http-errors.js';

/** What the web page needs: its built files and the model bundle it loads in the browser. */
export interface WebPageOptions {
  /** The built page (`npm run build:web` writes web/dist). */
  readonly distDir: string;
  readonly bundle: ModelBundle;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

async function sendFile(reply: FastifyReply, path: string): Promise<FastifyReply> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new ApiError(404, 'E_NOT_FOUND', `no such file: ${path.split(sep).pop()}`);
  return reply
    .header('content-type', TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream')
    .header('content-length', info.size)
    .header('cache-control', 'no-cache')
    .send(createReadStream(path));
}

/**
 * The file under `root` that `relative` names, or a 404 when it would leave `root`. `relative` is already
 * percent-decoded (the router decodes route parameters): decoding it again would turn `/%25zz` into a
 * `URIError` (a 500) and `%252e%252e` into `..`.
 */
export function safeJoin(root: string, relative: string): string {
  const base = resolve(root);
  const full = resolve(base, normalize(relative).replace(/^([/\\])+/, ''));
  if (full !== base && !full.startsWith(base + sep)) throw new ApiError(404, 'E_NOT_FOUND', 'no such file');
  return full;
}

/**
 * Serves the web page at `/` and the bundle it runs at `/model/bundle.json` and `/model/<onnx file>`;
 * ONNX Runtime Web's wasm files come from the build (`/ort/`), never from a CDN.
 */
export async function registerWebPage(app: FastifyInstance, options: WebPageOptions): Promise<void> {
  const { bundle, distDir } = options;
  app.get('/model/bundle.json', async (_req, reply) =>
    reply.header('cache-control', 'no-cache').send(bundle.meta),
  );
  app.get(`/model/${bundle.meta.onnx.file}`, async (_req, reply) => sendFile(reply, bundle.onnxPath));
  app.get('/', async (_req, reply) => sendFile(reply, join(distDir, 'index.html')));
  for (const url of ['/', '/model/bundle.json', `/model/${bundle.meta.onnx.file}`])
    allowOnly(app, url, ['GET']);
  app.get('/*', async (req, reply) => {
    const rel = (req.params as { '*': string })['*'];
    return sendFile(reply, safeJoin(distDir, rel));
  });
}
