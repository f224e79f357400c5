// Webhook targets must be public: http(s) URLs whose addresses are ordinary unicast, never
// private, loopback, link-local (cloud metadata at 169.254.169.254), unique-local, CGNAT,
// multicast or reserved, unless the allow-list names them (EVALGRAPH_WEBHOOK_ALLOWED_HOSTS:
// hostnames, addresses or CIDR ranges). Checked when an endpoint is saved and again at every
// connection, on the address actually connected to (so DNS rebinding gains nothing).
import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export class TargetRefusedError extends Error {}

export interface AllowList {
  hosts: Set<string>;
  ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][];
}

export function parseAllowList(raw: string | undefined): AllowList {
  const allow: AllowList = { hosts: new Set(), ranges: [] };
  for (const entry of (raw ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean)) {
    if (entry.includes('/')) allow.ranges.push(ipaddr.parseCIDR(entry));
    else if (ipaddr.isValid(entry))
      allow.ranges.push([ipaddr.parse(entry), ipaddr.parse(entry).kind() === 'ipv4' ? 32 : 128]);
    else allow.hosts.add(entry);
  }
  return allow;
}

/** Why connecting to `address` is refused, or null when it is allowed. */
export function refusal(address: string, allow: AllowList): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6 = ipaddr.parse(address);
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    // ::ffff:a.b.c.d (mapped) and the deprecated ::a.b.c.d (compatible) carry an IPv4 address.
    const compatible =
      v6.parts.slice(0, 6).every((p) => p === 0) && (v6.parts[6] !== 0 || v6.parts[7] > 1);
    if (v6.isIPv4MappedAddress() || compatible)
      ip = ipaddr.IPv4.parse(
        `${v6.parts[6] >> 8}.${v6.parts[6] & 255}.${v6.parts[7] >> 8}.${v6.parts[7] & 255}`,
      );
  }
  if (allow.ranges.some(([range, bits]) => range.kind() === ip.kind() && ip.match(range, bits)))
    return null;
  const range = ip.range();
  return range === 'unicast' ? null : `${address} is a ${range} address`;
}

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '').toLowerCase();

/** Refuses URLs that are not http(s), or that carry credentials. */
function parseTarget(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetRefusedError('not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new TargetRefusedError('only http and https URLs are allowed');
  if (url.username || url.password)
    throw new TargetRefusedError('credentials in the URL are not allowed');
  return url;
}

/** Refuses URLs that are not http(s) or whose host is (or resolves to) a forbidden address. */
export async function checkTarget(raw: string, allow: AllowList): Promise<URL> {
  const url = parseTarget(raw);
  const host = hostOf(url);
  if (allow.hosts.has(host)) return url;
  const addresses = ipaddr.isValid(host)
    ? [host]
    : await dns.promises.lookup(host, { all: true }).then(
        (r) => r.map((a) => a.address),
        () => {
          throw new TargetRefusedError(`${host} does not resolve`);
        },
      );
  for (const address of addresses) {
    const why = refusal(address, allow);
    if (why) throw new TargetRefusedError(host === address ? why : `${host}: ${why}`);
  }
  return url;
}

// Per allow-list, each URL's verdict: a delivery's URL is checked once, not at every send.
const verdicts = new WeakMap<AllowList, Map<string, URL | TargetRefusedError>>();
const MAX_VERDICTS = 10_000;

/**
 * The URL to send a delivery to, checked without resolving its name: its shape, and its address
 * when it is one (an address is connected to without a lookup, so `guardedLookup` never sees it).
 * A name's addresses are checked by `guardedLookup` on each connection. Throws TargetRefusedError.
 */
export function sendTarget(raw: string, allow: AllowList): URL {
  let known = verdicts.get(allow);
  if (!known) verdicts.set(allow, (known = new Map()));
  let verdict = known.get(raw);
  if (!verdict) {
    try {
      const url = parseTarget(raw);
      const host = hostOf(url);
      const why = allow.hosts.has(host) || !ipaddr.isValid(host) ? null : refusal(host, allow);
      verdict = why ? new TargetRefusedError(why) : url;
    } catch (error) {
      if (!(error instanceof TargetRefusedError)) throw error;
      verdict = error;
    }
    if (known.size >= MAX_VERDICTS) known.clear();
    known.set(raw, verdict);
  }
  if (verdict instanceof TargetRefusedError) throw verdict;
  return verdict;
}

/** A `lookup` for http.request that refuses forbidden addresses at connection time. */
export function guardedLookup(allow: AllowList, hostname: string): LookupFunction {
  const allowedHost = allow.hosts.has(hostname.toLowerCase());
  return (host, options, callback) => {
    dns.lookup(host, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 4);
      const bad = allowedHost
        ? null
        : addresses.map((a) => refusal(a.address, allow)).find(Boolean);
      if (bad) return callback(new TargetRefusedError(`${host}: ${bad}`), '', 4);
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}
