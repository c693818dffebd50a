import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { expected, expectedMessage, shown } from '../core/errors.js';
import { ApiError, type ApiErrorBody, errorBody, toErrorAnswer } from './api-error.js';

/** Sends `error` as our `{ error: { code, message } }` answer (with `Retry-After` when the error names one). */
export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  const answer = toErrorAnswer(error);
  if (error instanceof ApiError && error.retryAfterS !== undefined) {
    reply.header('retry-after', String(error.retryAfterS));
  }
  return reply.status(answer.status).send(answer.body);
}

/** The status and body for an error Node's HTTP parser raised on a connection, before any route ran. */
export function clientErrorAnswer(
  error: { code?: string },
  requestTimeoutMs: number,
): { status: number; body: ApiErrorBody } {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      body: errorBody(
        'E_TIMEOUT',
        `the request was not received within ${requestTimeoutMs} ms; send the headers and the whole body without pausing`,
      ),
    };
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return {
      status: 431,
      body: errorBody('E_TOO_LARGE', 'the request headers are too large; send fewer or shorter headers'),
    };
  }
  return {
    status: 400,
    body: errorBody(
      'E_INPUT',
      `malformed HTTP request (${error.code ?? 'parse error'}); send valid HTTP/1.1`,
    ),
  };
}

/**
 * A Fastify `clientErrorHandler`: answers parser errors (408 stalled request, 431 huge headers, 400 garbage)
 * with the API's JSON error shape, then closes the connection. Like Node's own handler, it writes nothing
 * once a response has started on the socket.
 */
export function clientErrorHandler(requestTimeoutMs: number): (error: Error, socket: Socket) => void {
  return (error, socket) => {
    const code = (error as { code?: string }).code;
    if (code === 'ECONNRESET' || socket.destroyed) return;
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const { status, body } = clientErrorAnswer({ code }, requestTimeoutMs);
      const json = JSON.stringify(body);
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
      );
    }
    socket.destroy(error);
  };
}

/** Default of `requestTimeoutMs`: the longest time to receive a whole request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/**
 * Fastify options that cut a request not fully received within `ms` with a 408 in our JSON shape. Node checks
 * deadlines only every `connectionsCheckingInterval` (30 s by default) and swaps the two timeouts when
 * `headersTimeout` (60 s by default) exceeds `requestTimeout`, which left a stalled body waiting ~60 s:
 * both timeouts are `ms` here and the check runs every second at most.
 */
export function timeouts(ms: number) {
  if (!Number.isInteger(ms) || ms < 1) {
    throw expected({
      what: 'a positive integer number of milliseconds',
      where: 'requestTimeoutMs',
      received: shown(ms),
      fix: 'e.g. requestTimeoutMs: 10000',
      code: 'E_CONFIG',
    });
  }
  const connectionsCheckingInterval = Math.min(1000, Math.max(50, Math.floor(ms / 4)));
  return {
    requestTimeout: ms,
    http: { requestTimeout: ms, headersTimeout: ms, connectionsCheckingInterval },
    clientErrorHandler: clientErrorHandler(ms),
  };
}

/**
 * Answers requests that arrive while the server closes (pipelined or on a kept-alive connection) with a 503
 * in our JSON shape; requests already running finish, then their connections end once idle (a kept-alive
 * client would otherwise hold `close()` open). Use with Fastify's `return503OnClosing: false`.
 */
export function refuseWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Connections left idle by a response finished while closing are ended, or close() would wait for the client.
  app.addHook('onResponse', async () => {
    if (closing) setImmediate(() => app.server.closeIdleConnections());
  });
  app.addHook('onRequest', async (_req, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    throw new ApiError(503, 'E_UNAVAILABLE', 'the server is shutting down; retry in a moment', {
      retryAfterS: 1,
    });
  });
}

/** A Fastify `frameworkErrors` handler: a URL that is not valid percent-encoding, and the like, in our shape. */
export function frameworkErrorHandler(error: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_BAD_URL') {
    const url = req.raw.url ?? '';
    const cut = url.length > 120 ? `${url.slice(0, 120)}…` : url;
    sendError(
      reply,
      new ApiError(
        400,
        'E_INPUT',
        expectedMessage({
          what: 'valid percent-encoding',
          where: 'the URL',
          received: JSON.stringify(cut),
          fix: 'write a literal % as %25',
        }),
      ),
    );
    return;
  }
  sendError(reply, error);
}

const METHODS: readonly HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * Answers every other method on `url` with 405 and an `Allow` header listing `allowed` (GET implies HEAD,
 * which Fastify adds by itself), instead of a 404 that says the route does not exist.
 */
export function allowOnly(app: FastifyInstance, url: string, allowed: readonly HTTPMethods[]): void {
  const allow = allowed.includes('GET') ? [...allowed, 'HEAD' as const] : [...allowed];
  const others = METHODS.filter((m) => !allow.includes(m));
  const refuse = async (req: FastifyRequest, reply: FastifyReply) =>
    sendError(
      reply.header('allow', allow.join(', ')),
      new ApiError(
        405,
        'E_METHOD_NOT_ALLOWED',
        expectedMessage({ what: `the method ${allow.join(' or ')}`, where: url, received: req.method }),
      ),
    );
  // Refused in onRequest, before any body is read or parsed (a PUT with an odd content type gets 405, not 415).
  app.route({ method: others, url, onRequest: refuse, handler: refuse });
}
