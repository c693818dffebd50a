import type { AddressInfo } from 'node:net';
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import { expected, shown } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { validateToken } from '../serve/index.js';

/** Resolves once SIGINT or SIGTERM arrives. */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: string) => () => resolve(signal);
    process.once('SIGINT', on('SIGINT'));
    process.once('SIGTERM', on('SIGTERM'));
  });
}

/**
 * The bearer token for `serve`/`web`: `--token`, else LESIONLAB_TOKEN, else none. An empty token is an error
 * (it would silently turn auth off), and so is a value that looks like the next flag (`--token --host x`).
 */
export function tokenArg(flag: string | undefined, env = process.env.LESIONLAB_TOKEN): string | undefined {
  if (flag?.startsWith('--')) {
    throw expected({
      what: 'the token value',
      where: '--token',
      received: `${shown(flag)}, which looks like another flag`,
      fix: 'put the token value right after --token',
      code: 'E_CONFIG',
    });
  }
  return flag === undefined ? validateToken(env, 'LESIONLAB_TOKEN') : validateToken(flag, '--token');
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0']);

/** True when `host` only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(h);
}

function urlOf(address: string, port: number): string {
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/**
 * The URLs that reach a server bound to `host`:`port`, other machines' first: for a wildcard host
 * (`0.0.0.0`, `::`) every interface address (IPv4 only for `0.0.0.0`), never just the loopback one.
 */
export function reachableUrls(
  host: string,
  port: number,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): [string, ...string[]] {
  if (!WILDCARD_HOSTS.has(host)) return [urlOf(host.replace(/^\[|\]$/g, ''), port)];
  const all = Object.values(interfaces)
    .flat()
    .filter((i): i is NetworkInterfaceInfo => i !== undefined && (host !== '0.0.0.0' || i.family === 'IPv4'))
    .filter((i) => !(i.family === 'IPv6' && i.address.toLowerCase().startsWith('fe80:')));
  const ordered = [...all.filter((i) => !i.internal), ...all.filter((i) => i.internal)];
  const [first, ...rest] = ordered.map((i) => urlOf(i.address, port));
  return first !== undefined ? [first, ...rest] : [urlOf(host === '0.0.0.0' ? '127.0.0.1' : '::1', port)];
}

/** The loud warning for an API open to other machines without a token; undefined when none is due. */
export function exposureWarning(host: string, token: string | undefined, url: string): string | undefined {
  if (token !== undefined || isLoopbackHost(host)) return undefined;
  return (
    `the API (/v1/*) is open to anyone who can reach ${url}: --host ${host} accepts other machines and no ` +
    'token is set; pass --token <secret> (or set LESIONLAB_TOKEN), or bind --host 127.0.0.1'
  );
}

/** Logs where a started server listens (every reachable URL) and warns when it is exposed without a token. */
export function announceListening(
  logger: Logger,
  host: string,
  port: number,
  token: string | undefined,
  headline: (url: string) => string,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): void {
  const [first, ...others] = reachableUrls(host, port, interfaces);
  logger.info(headline(first));
  if (others.length > 0) logger.info(`also reachable at ${others.join(', ')}`);
  const warning = exposureWarning(host, token, first);
  if (warning) logger.warn(warning);
}

/** What {@link listenAndAnnounce} needs of a server: Fastify's `listen` and the bound address. */
interface Listener {
  listen(options: { port: number; host: string }): Promise<unknown>;
  readonly server: { address(): AddressInfo | string | null };
}

/** Starts `app` on `host`:`port` (0 picks a free port) and announces every URL that reaches it (see {@link announceListening}). */
export async function listenAndAnnounce(
  app: Listener,
  logger: Logger,
  where: { readonly port: number; readonly host: string },
  token: string | undefined,
  headline: (url: string) => string,
): Promise<void> {
  await app.listen({ port: where.port, host: where.host });
  const bound = (app.server.address() as AddressInfo).port;
  announceListening(logger, where.host, bound, token, headline);
}
