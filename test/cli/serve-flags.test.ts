import type { NetworkInterfaceInfo } from 'node:os';
import { runCommand } from 'citty';
import { describe, expect, it } from 'vitest';
import { serveCommand } from '../../src/cli/serve.js';
import {
  announceListening,
  exposureWarning,
  isLoopbackHost,
  listenAndAnnounce,
  reachableUrls,
  tokenArg,
} from '../../src/cli/serve-args.js';
import { webCommand } from '../../src/cli/web.js';

const nic = (address: string, family: 'IPv4' | 'IPv6', internal: boolean): NetworkInterfaceInfo =>
  ({
    address,
    family,
    internal,
    netmask: '',
    mac: '',
    cidr: null,
    ...(family === 'IPv6' ? { scopeid: 0 } : {}),
  }) as NetworkInterfaceInfo;

const INTERFACES = {
  lo: [nic('127.0.0.1', 'IPv4', true), nic('::1', 'IPv6', true)],
  eth0: [
    nic('192.168.1.20', 'IPv4', false),
    nic('fe80::1', 'IPv6', false),
    nic('2001:db8::20', 'IPv6', false),
  ],
};

describe('--token', () => {
  it('refuses an empty --token or LESIONLAB_TOKEN instead of turning auth off', () => {
    expect(() => tokenArg('', undefined)).toThrow(
      'expected a non-empty token for --token but received an empty token, which would leave the API open',
    );
    expect(() => tokenArg(undefined, '')).toThrow(
      /^expected a non-empty token for LESIONLAB_TOKEN but received an empty token/,
    );
    expect(() => tokenArg('--host', undefined)).toThrow(
      'expected the token value for --token but received "--host", which looks like another flag; put the token value right after --token',
    );
  });

  it('takes --token over LESIONLAB_TOKEN, and none when neither is set', () => {
    expect(tokenArg('flag', 'env')).toBe('flag');
    expect(tokenArg(undefined, 'env')).toBe('env');
    expect(tokenArg(undefined, undefined)).toBeUndefined();
  });

  it.each([
    ['serve', serveCommand],
    ['web', webCommand],
  ] as const)('%s --token "" stops before loading anything', async (_name, command) => {
    const run = runCommand(command as typeof serveCommand, {
      rawArgs: ['/no/such/bundle', '--token', '', '--port', '0'],
    });
    await expect(run).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(/--token/) });
  });

  it('web accepts a --token option', () => {
    expect(webCommand.args).toHaveProperty('token');
  });
});

describe('listening on a non-loopback host', () => {
  it('lists the addresses other machines reach for a wildcard host, not only loopback', () => {
    expect(reachableUrls('0.0.0.0', 8080, INTERFACES)).toEqual([
      'http://192.168.1.20:8080',
      'http://127.0.0.1:8080',
    ]);
    expect(reachableUrls('::', 80, INTERFACES)).toEqual([
      'http://192.168.1.20:80',
      'http://[2001:db8::20]:80',
      'http://127.0.0.1:80',
      'http://[::1]:80',
    ]);
    expect(reachableUrls('127.0.0.1', 9, INTERFACES)).toEqual(['http://127.0.0.1:9']);
    expect(reachableUrls('10.0.0.7', 9, INTERFACES)).toEqual(['http://10.0.0.7:9']);
    expect(reachableUrls('::1', 9, INTERFACES)).toEqual(['http://[::1]:9']);
  });

  it('tells loopback hosts from exposed ones', () => {
    expect(
      ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'].every(isLoopbackHost),
    ).toBe(true);
    expect(['0.0.0.0', '::', '192.168.1.20', 'example.com'].some(isLoopbackHost)).toBe(false);
  });

  it('warns only when exposed without a token', () => {
    expect(exposureWarning('0.0.0.0', undefined, 'http://192.168.1.20:8080')).toMatch(
      /open to anyone who can reach http:\/\/192\.168\.1\.20:8080.*--token/,
    );
    expect(exposureWarning('0.0.0.0', 'tok', 'http://192.168.1.20:8080')).toBeUndefined();
    expect(exposureWarning('127.0.0.1', undefined, 'http://127.0.0.1:8080')).toBeUndefined();
  });

  it('announces the reachable URL and the warning through the logger', () => {
    const lines: string[] = [];
    const logger = {
      info: (m: string) => lines.push(`info ${m}`),
      warn: (m: string) => lines.push(`warn ${m}`),
    };
    announceListening(logger, '127.0.0.1', 4321, undefined, (url) => `serving at ${url}`);
    expect(lines).toEqual(['info serving at http://127.0.0.1:4321']);
    lines.length = 0;
    announceListening(logger, '0.0.0.0', 4321, undefined, (url) => `serving at ${url}`, INTERFACES);
    expect(lines[0]).toBe('info serving at http://192.168.1.20:4321');
    expect(lines[1]).toBe('info also reachable at http://127.0.0.1:4321');
    expect(lines.at(-1)).toMatch(/^warn the API \(\/v1\/\*\) is open/);
  });

  it('listens where asked and announces the port it was given (0 picks one)', async () => {
    const lines: string[] = [];
    const logger = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };
    let asked: unknown;
    const app = {
      listen: async (options: unknown) => {
        asked = options;
      },
      server: { address: () => ({ port: 43210, address: '127.0.0.1', family: 'IPv4' }) },
    };
    await listenAndAnnounce(app, logger, { port: 0, host: '127.0.0.1' }, undefined, (url) => `at ${url}`);
    expect(asked).toEqual({ port: 0, host: '127.0.0.1' });
    expect(lines).toEqual(['at http://127.0.0.1:43210']);
  });
});
