import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach } from 'vitest';

/** A local HTTP server that serves `body` at every path (404 for paths with "missing"), honouring Range. */
export interface BodyServer {
  readonly base: string;
  /** Every request seen: its path and Range header. */
  readonly requests: { url: string; range: string | undefined }[];
  close(): Promise<void>;
}

/** Starts a {@link BodyServer} on 127.0.0.1 at a free port. */
export async function startBodyServer(body: Buffer): Promise<BodyServer> {
  const requests: BodyServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', range: req.headers.range });
    if (req.url?.includes('missing')) {
      res.writeHead(404).end();
      return;
    }
    const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    const from = range ? Number(range[1]) : 0;
    res.writeHead(range ? 206 : 200, { 'content-length': String(body.length - from) });
    res.end(body.subarray(from));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

/** A URL on 127.0.0.1 where nothing listens (a port just freed). */
export async function closedPortUrl(path: string): Promise<string> {
  const closed = createServer();
  await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((ok) => closed.close(ok));
  return `http://127.0.0.1:${port}${path}`;
}

/** What a test file sees of {@link useBodyServer}: the server and a fresh empty folder per test. */
export interface BodyServerFixture {
  readonly base: string;
  readonly requests: BodyServer['requests'];
  readonly dir: string;
}

/** Registers vitest hooks: one {@link BodyServer} for the file, requests cleared and a new temp folder per test. */
export function useBodyServer(body: Buffer, tmpPrefix: string): BodyServerFixture {
  let server: BodyServer | undefined;
  let dir = '';
  beforeAll(async () => {
    server = await startBodyServer(body);
  });
  afterAll(() => server?.close());
  beforeEach(async () => {
    if (server) server.requests.length = 0;
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = await mkdtemp(join(tmpdir(), tmpPrefix));
  });
  return {
    get base() {
      return server?.base ?? '';
    },
    get requests() {
      return server?.requests ?? [];
    },
    get dir() {
      return dir;
    },
  };
}
