import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { MicroBatcher } from './batcher.js';

/** The server's Prometheus metrics, in a registry of its own (two servers in one process never clash). */
export interface ServeMetrics {
  readonly registry: Registry;
  /** Records one forward pass of `size` images taking `seconds`. */
  observeBatch(size: number, seconds: number): void;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Creates the metrics: `lesionlab_http_requests_total{method,route,status}`,
 * `lesionlab_http_request_duration_seconds{method,route}` (histogram), `lesionlab_batch_size` and
 * `lesionlab_batch_duration_seconds` (histograms), `lesionlab_queue_depth{stage}` (waiting/decoding, read from
 * `batcher` at scrape time) and the process metrics prom-client collects by default (RSS, event-loop lag, GC).
 */
export function createServeMetrics(batcher: () => MicroBatcher): ServeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'lesionlab_' });
  const batchSize = new Histogram({
    name: 'lesionlab_batch_size',
    help: 'Images per forward pass',
    buckets: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64],
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: 'lesionlab_batch_duration_seconds',
    help: 'Forward-pass time per batch',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: 'lesionlab_queue_depth',
    help: 'Admitted predictions not yet running: stage="waiting" (decoded) or "decoding"',
    labelNames: ['stage'],
    registers: [registry],
    collect() {
      const s = batcher().stats();
      this.set({ stage: 'waiting' }, s.queued);
      this.set({ stage: 'decoding' }, s.incoming);
    },
  });
  return {
    registry,
    observeBatch(size, seconds) {
      batchSize.observe(size);
      batchSeconds.observe(seconds);
    },
  };
}

/**
 * Counts every answered request and its latency by matched route (unmatched requests share `route="unmatched"`,
 * so odd URLs cannot blow up the label set), and serves the registry at `GET /metrics` in Prometheus text format.
 */
export function registerMetrics(app: FastifyInstance, metrics: ServeMetrics): void {
  const requests = new Counter({
    name: 'lesionlab_http_requests_total',
    help: 'HTTP requests answered, by method, matched route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [metrics.registry],
  });
  const latency = new Histogram({
    name: 'lesionlab_http_request_duration_seconds',
    help: 'Time from request received to response sent, by method and matched route',
    labelNames: ['method', 'route'],
    buckets: LATENCY_BUCKETS,
    registers: [metrics.registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
