// A lean HTTP client for load benches: node:http over a keep-alive agent. On a 2-core machine the load client
// shares the CPU with the server it measures; fetch (undici, WHATWG streams) costs several times the CPU of
// node:http per request, CPU the server under test would otherwise have had (as autocannon or wrk would not).
import { Agent, request } from 'node:http';

/** A keep-alive agent holding up to `sockets` connections (one per concurrent client). */
export function keepAliveAgent(sockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
}

/**
 * POSTs `body` with `content-type: type` to `url` through `agent` and reads the whole answer; resolves with the
 * status, or 0 on a network error (never rejects).
 */
export function post(agent: Agent, url: URL, body: Uint8Array, type: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': type, 'content-length': String(body.length) },
      },
      (res) => {
        res.resume(); // drain the answer; only its status is kept
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}
