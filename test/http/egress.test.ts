// The egress rules: our own outgoing HTTP goes to the configured origins, or over HTTPS to public addresses only.
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { downloadImage, DownloadError } from '../../src/http/download.js';
import { ForbiddenAddressError, createEgressAgent, isPublicAddress } from '../../src/http/egress.js';
import { closeScriptedServers, startScriptedServer } from '../helpers/http-server.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
  await closeScriptedServers();
});

/** A loopback server (a stand-in for a metadata service or an admin panel) that answers anyone with an image. */
const loopbackServer = () =>
  startScriptedServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' });
    res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });

function agent(trustedOrigins: string[]) {
  const a = createEgressAgent({ trustedOrigins });
  cleanups.push(() => a.close());
  return a;
}

async function refusal(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal');
}

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
    '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', '::ffff:127.0.0.1',
    '::ffff:7f00:1', '::ffff:a9fe:a9fe', '[::1]', 'not an ip',
    // IPv4-compatible (::/96), IPv4-mapped however spelled, NAT64 and 6to4 (2002::/16) around a private IPv4
    '::127.0.0.1', '::7f00:1', '::a9fe:a9fe', '::8.8.8.8', '0:0:0:0:0:ffff:7f00:1', '0::ffff:127.0.0.1', '0:0:0:0:0:ffff:169.254.169.254',
    '64:ff9b::10.0.0.1', '64:ff9b:0:0:0:0:a00:1', '2002:7f00:1::', '2002:a9fe:a9fe::1', '2002:c0a8:101:1::1', '2002:0a00:0001:0:0:0:0:1',
  ])('%s is not public', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '0:0:0:0:0:ffff:808:808', '64:ff9b::8.8.8.8', '2002:808:808::1'])('%s is public', (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });
});

describe('the egress agent', () => {
  it('reaches a configured origin on loopback as it is (the local fakes)', async () => {
    const server = await loopbackServer();
    const res = await request(`${server.origin}/x.png`, { dispatcher: agent([server.origin]) });
    await res.body.arrayBuffer();
    expect(res.statusCode).toBe(200);
  });

  it('refuses plain HTTP to any other origin without connecting', async () => {
    const server = await loopbackServer();
    const err = await refusal(request(`${server.origin}/x.png`, { dispatcher: agent(['http://127.0.0.1:1']) }));
    expect(err).toBeInstanceOf(ForbiddenAddressError);
    expect(server.connections()).toBe(0);
  });

  it('refuses HTTPS to a loopback, private or link-local address, given as an IP', async () => {
    for (const host of ['127.0.0.1', '10.1.2.3', '169.254.169.254', '[::1]', '[::ffff:127.0.0.1]']) {
      const err = await refusal(request(`https://${host}:9/latest/meta-data`, { dispatcher: agent([]) }));
      expect(err).toBeInstanceOf(ForbiddenAddressError);
    }
  });

  it('resolves a name and refuses it when it points at a non-public address, before connecting', async () => {
    const server = await loopbackServer();
    const err = await refusal(request(`https://localhost:${server.port}/x.png`, { dispatcher: agent([]) }));
    expect(err).toBeInstanceOf(ForbiddenAddressError);
    expect((err as Error).message).toMatch(/localhost resolves to .* not a public address/);
    expect(server.connections()).toBe(0);
  });

  it('turns a refusal into a download error of kind forbidden_origin, which is not retried', async () => {
    const server = await loopbackServer();
    const err = await refusal(downloadImage(`${server.origin}/x.png?sig=secret`, { maxBytes: 1000, dispatcher: agent([]) }));
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).kind).toBe('forbidden_origin');
    expect((err as Error).message).not.toContain('secret');
    expect(server.seen).toHaveLength(0);
  });
});
