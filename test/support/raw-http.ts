import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** A parsed HTTP/1.1 answer read off a raw socket. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Milliseconds from the first byte written to the socket closing. */
  readonly ms: number;
}

/** Starts `app` on a free loopback port and returns the port. */
export async function listenLoopback(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('server has no TCP address');
  return address.port;
}

function parse(raw: string, ms: number): RawAnswer {
  const split = raw.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = raw.slice(0, split < 0 ? raw.length : split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN);
  return { status, headers, body: split < 0 ? '' : raw.slice(split + 4), ms };
}

/**
 * Writes `request` bytes exactly as given (any request target, even malformed or stalled) to a loopback
 * socket and reads until the server closes it or `timeoutMs` passes (then `status` is NaN).
 */
export function rawRequest(port: number, request: string | Buffer, timeoutMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const start = performance.now();
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(Buffer.concat(chunks).toString('latin1'), performance.now() - start));
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('close', finish);
    socket.on('error', () => {});
  });
}

/** An HTTP/1.1 request with `Connection: close`, a body when given, and extra header lines. */
export function httpRequest(
  method: string,
  target: string,
  options: { body?: Buffer; type?: string; headers?: Record<string, string> } = {},
): Buffer {
  const head = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of Object.entries(options.headers ?? {})) head.push(`${k}: ${v}`);
  if (options.body)
    head.push(`Content-Type: ${options.type ?? 'image/jpeg'}`, `Content-Length: ${options.body.length}`);
  return Buffer.concat([
    Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'),
    options.body ?? Buffer.alloc(0),
  ]);
}
