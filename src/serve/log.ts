import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from '../core/logger.js';

/** Fields of one structured log line. */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

/** A {@link Logger} that can also take fields; the server logs requests through `event` when it exists. */
export interface StructuredLogger extends Logger {
  event(level: 'info' | 'warn', msg: string, fields: LogFields): void;
}

/**
 * A logger writing one JSON object per line: `{"time":ISO,"level","msg",...fields}` (what log shippers parse);
 * plain `info`/`warn` messages become `msg`.
 */
export function jsonLogger(write: (line: string) => void, now = () => new Date()): StructuredLogger {
  const event = (level: string, msg: string, fields: LogFields = {}) =>
    write(`${JSON.stringify({ time: now().toISOString(), level, msg, ...fields })}\n`);
  return {
    info: (msg) => event('info', msg),
    warn: (msg) => event('warn', msg),
    debug: (msg) => event('debug', msg),
    event,
  };
}

/** Sends a structured event to `log`: through `event` when it has one, else as `msg key=value ...`. */
export function logEvent(log: Logger, level: 'info' | 'warn', msg: string, fields: LogFields): void {
  const structured = (log as Partial<StructuredLogger>).event;
  if (structured) {
    structured.call(log, level, msg, fields);
    return;
  }
  const text = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : v}`)
    .join(' ');
  log[level](`${msg} ${text}`);
}

const SAFE_ID = /^[\w.:-]{1,128}$/;

/** The request id: the client's `X-Request-Id` when it is short and plain (letters, digits, `_.:-`), else a UUID. */
export function requestId(req: { headers: Record<string, string | string[] | undefined> }): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
}

/** Echoes the request id in `X-Request-Id` and logs one `request` line per answer (id, route, status, ms). */
export function registerRequestLog(app: FastifyInstance, log: Logger): void {
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req: FastifyRequest, reply) => {
    logEvent(log, reply.statusCode >= 500 ? 'warn' : 'info', 'request', {
      reqId: req.id,
      method: req.method,
      url: req.url.length > 200 ? `${req.url.slice(0, 200)}…` : req.url,
      route: req.routeOptions.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
    });
  });
}
