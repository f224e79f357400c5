// Standard Webhooks v1 signing (https://www.standardwebhooks.com): secrets are `whsec_` + base64
// of random bytes; a message is signed as HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>",
// with the body exactly as sent. During a rotation several secrets sign at once, space-separated.
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

export interface StoredSecret {
  secret: string;
  createdAt: string;
  /** ISO 8601; null for the current secret. An expired secret no longer signs. */
  expiresAt: string | null;
}

export function generateSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

export function sign(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(
    secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret,
    'base64',
  );
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** The `webhook-signature` header: one signature per secret still valid at `now`. */
export function signatureHeader(
  secrets: StoredSecret[],
  id: string,
  timestampSeconds: number,
  body: string,
  now: Date,
): string {
  return activeSecrets(secrets, now)
    .map((s) => sign(s.secret, id, timestampSeconds, body))
    .join(' ');
}

export const activeSecrets = (secrets: StoredSecret[], now: Date) =>
  secrets.filter((s) => s.expiresAt === null || Date.parse(s.expiresAt) > now.getTime());

/** Rotation: a new current secret; the others keep signing for `overlapMs` (already expiring ones keep their expiry). */
export function rotate(
  secrets: StoredSecret[],
  now: Date,
  overlapMs: number,
): { secrets: StoredSecret[]; secret: string } {
  const secret = generateSecret();
  const until = new Date(now.getTime() + overlapMs).toISOString();
  const kept = activeSecrets(secrets, now).map((s) => ({ ...s, expiresAt: s.expiresAt ?? until }));
  return { secret, secrets: [{ secret, createdAt: now.toISOString(), expiresAt: null }, ...kept] };
}
