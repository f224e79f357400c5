// Callers without a valid API key (none, or a malformed, unknown or revoked one) share a small
// token bucket per client address: they cost parsing, a key lookup and an answer before anyone
// knows who they are. Valid keys never touch it: a key is always checked (one indexed lookup,
// cached), so a flood of made-up keys from a shared address (NAT, a load balancer) cannot shut
// out a valid key that this process has not seen yet. The address is the client's
// (lib/client-address.ts: X-Forwarded-For only from trusted proxies); IPv6 counts per /64, the block one subscriber is given. With
// Redis the buckets are shared by every API process.
import { GraphQLError } from 'graphql';
import ipaddr from 'ipaddr.js';
import { Counter, type Registry } from 'prom-client';
import {
  secondsUntil,
  withFallback,
  type BucketLimits,
  type BucketResult,
  type BucketStore,
} from './bucket';

/** The bucket's name for an address: IPv4 (mapped IPv6 too) as it is, IPv6 by its /64. */
export function clientKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const ip = ipaddr.process(address);
  if (ip.kind() === 'ipv4') return ip.toString();
  return `${(ip as ipaddr.IPv6).parts
    .slice(0, 4)
    .map((p) => p.toString(16))
    .join(':')}::/64`;
}

export interface AnonymousLimiterOptions {
  /** null: no limit. */
  limits: BucketLimits | null;
  store: BucketStore;
  /** The principal of an Authorization value (the cached key lookup); throws UNAUTHENTICATED for a bad one, FORBIDDEN for one not allowed from the address. */
  authenticate(authorization: string, address: string): Promise<unknown>;
  metrics: Registry;
  onStoreError?(error: unknown): void;
}

export function createAnonymousLimiter({
  limits,
  store,
  authenticate,
  metrics,
  onStoreError,
}: AnonymousLimiterOptions) {
  const refused = new Counter({
    name: 'evalgraph_anonymous_refused_total',
    help: 'Requests and WebSocket connections without a valid API key refused because their address used its bucket (429 / 4429), by whether they sent a key.',
    labelNames: ['key'],
    registers: [metrics],
  });
  // A failed store (Redis): this process's buckets stand in.
  const buckets = withFallback(store, onStoreError);
  const run = async (step: (s: BucketStore) => Promise<BucketResult>) =>
    (await buckets(step)).value;
  const isValid = async (
    authorization: string,
    address: string,
    lookup?: () => Promise<unknown | null>,
  ) => {
    try {
      return (await (lookup ? lookup() : authenticate(authorization, address))) !== null;
    } catch (error) {
      // A key used from outside its allowlist is no key here: its holder pays like anyone.
      if (
        error instanceof GraphQLError &&
        (error.extensions.code === 'UNAUTHENTICATED' || error.extensions.code === 'FORBIDDEN')
      )
        return false;
      return true; // e.g. the database is down: the request's own lookup reports it
    }
  };

  return {
    limits,
    /**
     * Whether a request (or a WebSocket connection_init) from `address` with this Authorization
     * value may go on: null when it may, else the seconds to wait. Takes a token only when there
     * is no valid key.
     */
    async admit(
      address: string | undefined,
      authorization: string | null | undefined,
      /** The request's own lookup of the key, when it has one: the key is then looked up once. */
      lookup?: () => Promise<unknown | null>,
    ): Promise<number | null> {
      if (!limits || !address) return null;
      // A valid key (most requests) needs nothing more: no address parsed, no bucket named.
      if (authorization && (await isValid(authorization, address, lookup))) return null;
      const bucket = `anonymous:${clientKey(address)}`;
      const taken = await run((s) => s.take(bucket, limits, 1));
      if (taken.allowed) return null;
      refused.inc({ key: authorization ? 'bad' : 'none' });
      return Math.max(1, secondsUntil(taken.available, 1, limits));
    },
  };
}

export type AnonymousLimiter = ReturnType<typeof createAnonymousLimiter>;
