import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY_PREFIX = 'evg_';
/** How much of a key is kept in clear to tell keys apart in lists. */
const VISIBLE = 12;

export interface NewApiKey {
  /** Shown once to its owner, never stored. */
  key: string;
  hash: string;
  prefix: string;
}

/** 240 random bits: long enough that a fast hash (sha256) is the right way to store it. */
export function generateApiKey(): NewApiKey {
  return describeApiKey(KEY_PREFIX + randomBytes(30).toString('base64url'));
}

/** Hash and prefix of a given key (also an operator-chosen EVALGRAPH_INIT_API_KEY). */
export function describeApiKey(key: string): NewApiKey {
  return {
    key,
    hash: hashApiKey(key),
    prefix: key.slice(0, key.startsWith(KEY_PREFIX) ? VISIBLE : 8),
  };
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The key of an `Authorization: Bearer <key>` header; null when absent, undefined when malformed. */
export function parseBearer(header: string | null | undefined): string | null | undefined {
  if (header === null || header === undefined || header === '') return null;
  const match = /^Bearer\s+(\S{16,256})\s*$/i.exec(header);
  return match ? match[1] : undefined;
}

export function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
