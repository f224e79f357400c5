// The client's address, the one answer for every transport (HTTP, SSE, graphql-ws, OTLP) and every
// use (the anonymous bucket, API keys' address allowlists). X-Forwarded-For is believed only as far
// as the chain of hops is made of trusted proxies (EVALGRAPH_TRUSTED_PROXIES): anyone can send the
// header, so without a trusted peer it is ignored; with one, the rightmost address that is not a
// trusted proxy is the client (what proxies to its right appended is true, what is left of it is
// whatever the client chose to send).
import ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * An IPv4 or IPv6 CIDR, or a single address (as /32 or /128), in canonical form; null when it is
 * neither. IPv4 only in its four-part decimal form: ipaddr.js would also read "10" or "0x0a.1".
 */
export function parseCidr(text: string): string | null {
  const value = text.trim();
  const [address, prefix, ...rest] = value.split('/');
  if (rest.length || !address) return null;
  const v4 = ipaddr.IPv4.isValidFourPartDecimal(address);
  if (!v4 && !ipaddr.IPv6.isValid(address)) return null;
  const ip = ipaddr.parse(address);
  const max = ip.kind() === 'ipv4' ? 32 : 128;
  if (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) return null;
  const bits = prefix === undefined ? max : Number(prefix);
  if (bits > max) return null;
  return `${ip.toString()}/${bits}`;
}

/** An address as the socket or a header gives it, IPv4-mapped IPv6 as IPv4; null when it is none. */
function parseAddress(text: string | undefined): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const value = text?.trim();
  if (!value || !ipaddr.isValid(value)) return null;
  return ipaddr.process(value);
}

/** Whether `address` is in one of the ranges (parsed by `parseCidr`); false for no address. */
export function createAddressMatcher(cidrs: readonly string[]) {
  const ranges: Range[] = cidrs.map((c) => ipaddr.parseCIDR(c) as Range);
  return (address: string | undefined): boolean => {
    const ip = parseAddress(address);
    if (!ip) return false;
    return ranges.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits));
  };
}

/**
 * Whether every range of `inner` lies inside some range of `outer` (both canonical CIDRs); an
 * empty `inner` means any address, so it lies within nothing.
 */
export function cidrsWithin(outer: readonly string[], inner: readonly string[]): boolean {
  const ranges = outer.map((c) => ipaddr.parseCIDR(c) as Range);
  return (
    inner.length > 0 &&
    inner.every((c) => {
      const [net, bits] = ipaddr.parseCIDR(c) as Range;
      return ranges.some(
        ([outerNet, outerBits]) =>
          outerNet.kind() === net.kind() && outerBits <= bits && net.match(outerNet, outerBits),
      );
    })
  );
}

/**
 * `(peer, forwardedFor) → client address`: the TCP peer's address, or, when the peer is a trusted
 * proxy, the rightmost X-Forwarded-For entry that is not one (all trusted: the leftmost; an entry
 * that is no address ends the walk at the hop that sent it).
 */
export function createClientAddress(trustedProxies: readonly string[]) {
  const trusted = createAddressMatcher(trustedProxies);
  // A server sees few peers (clients, or its proxies), and parsing one costs more than the rest of
  // this per request: each peer's canonical form is kept (bounded: cleared when full).
  const peers = new Map<string, string>();
  const canonical = (peer: string): string => {
    let self = peers.get(peer);
    if (self === undefined) {
      self = parseAddress(peer)?.toString() ?? peer;
      if (peers.size >= 10_000) peers.clear();
      peers.set(peer, self);
    }
    return self;
  };
  return (
    peer: string | undefined,
    forwardedFor: string | null | undefined,
  ): string | undefined => {
    const self = peer === undefined ? undefined : canonical(peer);
    if (!trustedProxies.length || !forwardedFor || !trusted(self)) return self;
    let client = self;
    const hops = forwardedFor.split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = parseAddress(hops[i]);
      if (!hop) return client;
      client = hop.toString();
      if (!trusted(client)) return client;
    }
    return client;
  };
}

export type ClientAddress = ReturnType<typeof createClientAddress>;
