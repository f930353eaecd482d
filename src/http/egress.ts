// The one undici pool for our own outgoing HTTP (Luma's API, Luma's output files, Discord CDN images), guarded
// where it connects. Luma's answers name the URLs we download results from: a compromised or confused answer
// must not make the bot fetch from its own machine, its network or a cloud metadata address (169.254.169.254).
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, buildConnector } from 'undici';

/** A connection the guard refused: not HTTPS, or to a loopback, private, link-local or otherwise non-public address. */
export class ForbiddenAddressError extends Error {
  override name = 'ForbiddenAddressError';
  readonly code = 'ERR_FORBIDDEN_ADDRESS';
}

const NON_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  NON_PUBLIC.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  NON_PUBLIC.addSubnet(net, prefix, 'ipv6');
}

/**
 * Whether an IP address is a public unicast address. IPv6 forms that carry an IPv4 address are judged by the IPv4
 * inside, however they are spelled: IPv4-mapped (`::ffff:0:0/96`), NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`,
 * the IPv4 in bits 16–47). The deprecated IPv4-compatible range (`::/96`, which includes `::` and `::1`) is refused.
 */
export function isPublicAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, '').toLowerCase();
  const family = isIP(ip);
  if (family === 4) return !NON_PUBLIC.check(ip, 'ipv4');
  if (family !== 6) return false;
  const words = ipv6Words(ip);
  if (words === undefined) return false;
  const zeros = (n: number): boolean => words.slice(0, n).every((w) => w === 0);
  const ipv4 = (hi: number, lo: number): string => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  if (zeros(6)) return false; // ::/96
  if (zeros(5) && words[5] === 0xffff) return isPublicAddress(ipv4(words[6] ?? 0, words[7] ?? 0)); // ::ffff:0:0/96
  if (words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((w) => w === 0)) return isPublicAddress(ipv4(words[6] ?? 0, words[7] ?? 0));
  if (words[0] === 0x2002) return isPublicAddress(ipv4(words[1] ?? 0, words[2] ?? 0)); // 6to4
  return !NON_PUBLIC.check(ip, 'ipv6');
}

/** An IPv6 address (as `isIP` accepts it) as its eight 16-bit words, or undefined when it cannot be read. */
function ipv6Words(ip: string): number[] | undefined {
  let text = ip.replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const part = (s: string | undefined): number[] => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const left = part(head);
  const right = part(tail);
  const words = tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : undefined;
}

function originKey(protocol: string, hostname: string, port: string | number | null | undefined): string {
  const p = port === undefined || port === null || port === '' ? (protocol === 'https:' ? 443 : 80) : Number(port);
  return `${protocol}//${hostname.replace(/^\[|\]$/g, '').toLowerCase()}:${p}`;
}

function keyOfOrigin(origin: string): string | undefined {
  try {
    const u = new URL(origin);
    return originKey(u.protocol, u.hostname, u.port);
  } catch {
    return undefined;
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup that fails when any address a name resolves to is not public: the checked address is the one used. */
function publicOnlyLookup(hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const bad = addresses.find((a) => !isPublicAddress(a.address));
    if (bad || addresses.length === 0) {
      return callback(new ForbiddenAddressError(`${hostname} resolves to ${bad?.address ?? 'nothing'}, which is not a public address`), []);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0] as LookupAddress;
    callback(null, first.address, first.family);
  });
}

export interface EgressAgentOptions {
  /**
   * Origins reached as configured, without the guard (`LUMA_BASE_URL`, `DISCORD_CDN_ORIGINS`): the operator chose
   * them, and a local fake of Luma or Discord lives on loopback. Everything else must be HTTPS to a public address.
   */
  trustedOrigins: readonly string[];
  connections?: number;
  keepAliveTimeout?: number;
}

/**
 * An undici Agent whose connections go only to the trusted origins, or over HTTPS to public addresses. Names are
 * resolved and every address checked before connecting, and the socket connects to the checked address, so a DNS
 * answer cannot swap in a private one in between (DNS rebinding).
 */
export function createEgressAgent(opts: EgressAgentOptions): Agent {
  const trusted = new Set(opts.trustedOrigins.flatMap((o) => keyOfOrigin(o) ?? []));
  const plain = buildConnector({});
  const guarded = buildConnector({ lookup: publicOnlyLookup } as buildConnector.BuildOptions);
  const connect: buildConnector.connector = (options, callback) => {
    const { protocol, hostname, port } = options;
    if (trusted.has(originKey(protocol, hostname, port))) return plain(options, callback);
    const host = hostname.replace(/^\[|\]$/g, '');
    if (protocol !== 'https:') {
      return callback(new ForbiddenAddressError(`refused ${protocol}//${host}: only HTTPS is fetched outside the configured origins`), null);
    }
    if (isIP(host) !== 0) {
      if (!isPublicAddress(host)) return callback(new ForbiddenAddressError(`refused ${host}: not a public address`), null);
      return plain(options, callback);
    }
    return guarded(options, callback);
  };
  return new Agent({
    ...(opts.connections !== undefined ? { connections: opts.connections } : {}),
    ...(opts.keepAliveTimeout !== undefined ? { keepAliveTimeout: opts.keepAliveTimeout } : {}),
    connect,
  });
}
