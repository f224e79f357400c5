// Every subscription stream, over any transport, goes through here: it counts against its API
// key's limit of open streams in this process, and it ends when the key is revoked: at once when
// the revocation is announced (pub/sub, from any process), at the latest at the next check of the
// database (a lost message must not keep a revoked key listening).
import type { Context } from '../../context';
import type { Deps } from '../../deps';
import { appError, unauthenticated } from '../../errors';
import type { Channel } from '../../lib/channel';
import { KEY_REVOKED_TOPIC } from '../auth/service';
const RECHECK_MS = 30_000;

export function createSubscriptionGuard(deps: Deps, options: { perKey: number }) {
  // keyId → the ends of its open streams
  const open = new Map<string, Set<() => void>>();
  const revokedListeners = new Set<(keyId: string) => void>();

  function revoked(keyId: string) {
    for (const end of open.get(keyId) ?? []) end();
    for (const listener of revokedListeners) listener(keyId);
  }

  const unlisten = deps.pubsub.listen<{ keyId: string }>(KEY_REVOKED_TOPIC, ({ keyId }) => revoked(keyId));
  const recheck = setInterval(() => {
    const ids = [...open.keys()];
    if (!ids.length) return;
    deps.db
      .query<{ id: string }>(`SELECT id::text FROM api_keys WHERE id = ANY($1::uuid[]) AND revoked_at IS NOT NULL`, [ids])
      .then((rows) => rows.forEach((r) => revoked(r.id)))
      .catch((error) => deps.log.warn({ err: error }, 'revocation check failed'));
  }, RECHECK_MS);
  recheck.unref();

  return {
    /** Opens a stream for the caller: refused without a key or over the key's limit. */
    open<T>(ctx: Context, channel: Channel<T>): Channel<T> {
      const principal = ctx.principal;
      if (!principal) {
        void channel.return?.();
        throw unauthenticated();
      }
      const ends = open.get(principal.keyId) ?? new Set();
      if (ends.size >= options.perKey) {
        void channel.return?.();
        throw appError('RATE_LIMITED', `At most ${options.perKey} subscriptions may be open at once per API key.`, { extensions: { limit: options.perKey } });
      }
      const end = () => void channel.return?.();
      ends.add(end);
      open.set(principal.keyId, ends);
      channel.onClose(() => {
        ends.delete(end);
        if (!ends.size && open.get(principal.keyId) === ends) open.delete(principal.keyId);
      });
      return channel;
    },
    /** Called for every revoked key seen (the WebSocket server closes its sockets). */
    onRevoked(listener: (keyId: string) => void) {
      revokedListeners.add(listener);
      return () => void revokedListeners.delete(listener);
    },
    openCount: (keyId: string) => open.get(keyId)?.size ?? 0,
    /** Ends every open stream (shutdown). */
    close() {
      for (const ends of open.values()) for (const end of [...ends]) end();
      unlisten();
      clearInterval(recheck);
    },
  };
}

export type SubscriptionGuard = ReturnType<typeof createSubscriptionGuard>;
