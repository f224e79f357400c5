// Every subscription stream, over any transport, goes through here: it counts against its API
// key's limit of open streams (in every process together when there is Redis, else in this one;
// if Redis fails, this process's count still holds), and it ends when the key is revoked (at once when
// the revocation is announced through pub/sub, from any process) or when the key's user no longer
// may read the stream's project, or its role there changed (checked at once when a change of the
// user's access is announced, and against the database every 30 s, which also catches an
// announcement that was lost).
import type { Context } from '../../context';
import type { Deps } from '../../deps';
import { appError, unauthenticated } from '../../errors';
import { createChannel, type Channel, type ChannelOptions } from '../../lib/channel';
import { flatUuid } from '../../lib/ids';
import type { Role } from '../../generated/prisma/enums';
import { can, effectiveRole, type Principal } from '../auth/permissions';
import type { AuthService } from '../auth/service';
import { topics } from '../events/catalogue';
import { createRedisSlots, type SubscriptionSlots } from './slots';

const RECHECK_MS = 30_000;

/** An open stream. A class: thousands are open at once, and a closure per stream costs more. */
class Stream {
  /** Whether it holds a cluster-wide slot (null: not counted there). */
  taken: boolean | null = null;
  constructor(
    /** Its slot's id in Redis ('' without Redis). */
    readonly id: string,
    readonly keyId: string,
    /** The project whose data it carries. */
    readonly projectId: string,
    readonly userId: string,
    /** The hash of the secret it was opened with (Principal.secretHash). */
    readonly secretHash: string | undefined,
    /** The access its events are computed with: its key's role in the project, and instance admin. */
    readonly role: Role | null,
    readonly admin: boolean,
    private readonly channel: Channel<unknown>,
  ) {}

  /** Whether `principal` (the key as it is now) still has the access the stream's events are computed with. */
  holds(principal: Principal): boolean {
    return (
      can(principal, this.projectId, 'read') &&
      effectiveRole(principal, this.projectId) === this.role &&
      principal.isAdmin === this.admin
    );
  }

  end() {
    void this.channel.return?.();
  }
}

/** A slot's lease: renewed at every access check, so three checks may fail before it lapses. */
const LEASE_MS = 3 * RECHECK_MS;

export function createSubscriptionGuard(
  deps: Deps,
  options: { perKey: number; auth: AuthService },
) {
  const slots: SubscriptionSlots | null = deps.redis
    ? createRedisSlots(deps.redis, deps.config.redis?.keyPrefix ?? '', LEASE_MS)
    : null;
  const slotFailed = (error: unknown) =>
    deps.log.warn(
      { err: error },
      'subscription slots (Redis) failed; counting in this process only',
    );
  // keyId → its open streams
  const open = new Map<string, Set<Stream>>();
  const revokedListeners = new Set<(keyId: string, secretHash?: string) => void>();
  let closed = false;

  /**
   * The key was revoked, or (with `secretHash`) that secret of it was rotated out. Its sockets close
   * (4403) before its streams end: a WebSocket client sees the revocation, not a completion sent at
   * once by the stream's end (ws-transport.ts).
   */
  function revoked(keyId: string, secretHash?: string) {
    for (const listener of revokedListeners) listener(keyId, secretHash);
    for (const stream of [...(open.get(keyId) ?? [])])
      if (secretHash === undefined || stream.secretHash === secretHash) stream.end();
  }

  /**
   * Checks the key's streams against the database, by the secret each was opened with: a key
   * rotated with its old secret's overlap over (or none) leaves the streams of that secret ended,
   * as a revoked key's are.
   */
  async function recheckKey(keyId: string, streams: Set<Stream>) {
    const bySecret = new Map<string | undefined, Stream[]>();
    for (const s of streams) bySecret.set(s.secretHash, [...(bySecret.get(s.secretHash) ?? []), s]);
    for (const [secretHash, group] of bySecret) {
      const principal = secretHash
        ? await options.auth.principalOfSecret(secretHash)
        : await options.auth.principalOfKey(keyId);
      if (!principal) revoked(keyId, secretHash);
      // A stream computes its events with the access it opened with (a group of subscribers with its
      // first member's): one whose key has since gained or lost a role ends, and the client
      // subscribes again with the access it has now.
      else for (const stream of group) if (!stream.holds(principal)) stream.end();
    }
  }

  async function recheck() {
    if (slots)
      await slots
        .renew(
          [...open].flatMap(([keyId, streams]) =>
            [...streams].map((s) => ({ keyId, streamId: s.id })),
          ),
        )
        .catch(slotFailed);
    for (const [keyId, streams] of [...open]) await recheckKey(keyId, streams);
  }

  const accessChanged = async (userId: string) => {
    for (const [keyId, streams] of [...open])
      if ([...streams].some((s) => s.userId === userId)) await recheckKey(keyId, streams);
  };
  const unlisten = [
    deps.pubsub.listen<{ keyId: string }>(topics.keyRevoked, ({ keyId }) => revoked(keyId)),
    deps.pubsub.listen<{ userId: string }>(topics.accessChanged, ({ userId }) => {
      accessChanged(userId).catch((error) =>
        deps.log.warn({ err: error }, 'subscription access check failed'),
      );
    }),
  ];
  const timer = setInterval(
    () =>
      void recheck().catch((error) =>
        deps.log.warn({ err: error }, 'subscription access check failed'),
      ),
    RECHECK_MS,
  );
  timer.unref();

  /** Opens a stream of `projectId`'s data for the caller: refused without a key or over the key's limit. */
  async function guard<T>(
    ctx: Context,
    projectId: string,
    channel: Channel<T>,
  ): Promise<Channel<T>> {
    const principal = ctx.principal;
    if (!principal) {
      void channel.return?.();
      throw unauthenticated();
    }
    const refuse = () => {
      void channel.return?.();
      return appError(
        'RATE_LIMITED',
        `At most ${options.perKey} subscriptions may be open at once per API key.`,
        { extensions: { limit: options.perKey } },
      );
    };
    // Shutting down: a stream opened now (a client reconnecting at once) would hold the server open; it ends at once.
    if (closed) {
      channel.end();
      return channel;
    }
    const keyId = principal.keyId;
    const streams = open.get(keyId) ?? new Set();
    if (streams.size >= options.perKey) throw refuse();
    const stream = new Stream(
      slots ? flatUuid() : '',
      keyId,
      projectId,
      principal.userId,
      principal.secretHash,
      effectiveRole(principal, projectId),
      principal.isAdmin,
      channel as Channel<unknown>,
    );
    // Counted here before the (async) cluster-wide check, so this process never overshoots.
    streams.add(stream);
    open.set(keyId, streams);
    stream.taken = slots
      ? await slots.take(keyId, stream.id, options.perKey).catch((error) => {
          slotFailed(error);
          return null;
        })
      : null;
    if (stream.taken === false) {
      forget(stream);
      throw refuse();
    }
    channel.onClose(closer(stream));
    return channel;
  }

  function forget(stream: Stream) {
    const streams = open.get(stream.keyId);
    if (!streams) return;
    streams.delete(stream);
    if (!streams.size) open.delete(stream.keyId);
  }

  /** What a stream's end does (a closure over the stream alone: the guard's scope stays unheld). */
  function closer(stream: Stream) {
    return () => {
      forget(stream);
      if (stream.taken) void slots!.release(stream.keyId, stream.id).catch(slotFailed);
    };
  }

  return {
    open: guard,
    /**
     * A stream of what is published on `topic` (a project's topic), held as `keep` says for a
     * slow reader. `unpack` says what of each payload the stream carries (default: the payload):
     * the values of a list published at once, those the subscription's filter takes.
     */
    topic<T, P = T>(
      ctx: Context,
      projectId: string,
      topic: string,
      keep: ChannelOptions<T>['keep'],
      unpack?: (payload: P) => T[],
    ): Promise<Channel<T>> {
      const channel = createChannel<T>({ keep });
      channel.onClose(
        deps.pubsub.listen<P>(topic, (payload) => {
          if (!unpack) return channel.push(payload as unknown as T);
          for (const value of unpack(payload)) channel.push(value);
        }),
      );
      return guard(ctx, projectId, channel);
    },
    /**
     * Called for every revoked key seen, or secret of a key rotated out (`secretHash`): the
     * WebSocket server closes the sockets that use it.
     */
    onRevoked(listener: (keyId: string, secretHash?: string) => void) {
      revokedListeners.add(listener);
      return () => void revokedListeners.delete(listener);
    },
    /** Runs the access check now (tests; otherwise every 30 s). */
    recheck,
    openCount: (keyId: string) => open.get(keyId)?.size ?? 0,
    /** Streams open in this process, over every key. */
    totalOpen: () => [...open.values()].reduce((n, streams) => n + streams.size, 0),
    /** Ends every open stream (shutdown). */
    close() {
      closed = true;
      for (const streams of open.values()) for (const stream of [...streams]) stream.end();
      unlisten.forEach((fn) => fn());
      clearInterval(timer);
    },
  };
}

export type SubscriptionGuard = ReturnType<typeof createSubscriptionGuard>;
