// Postgres connections that outlive the database going away. pg reports a broken connection
// ("read ECONNRESET", "Connection terminated unexpectedly") as an 'error' event on its client,
// and an 'error' event nobody listens to ends the process; pg-pool listens only while a client
// is idle, so a client checked out (a transaction, Prisma's, the migration engine's) had none.
// And while the database is unreachable, connecting is refused at once (a short circuit) instead
// of each request waiting for the connect timeout, so that requests get their 503 quickly.
import pg from 'pg';
import { DatabaseUnavailableError, isDatabaseUnavailable } from './db-unavailable';

const ignore = () => {};

/**
 * Gives every client of `pool`, idle or checked out, an 'error' listener. The listener has nothing
 * to do: the query in flight rejects with the same error, and a broken client is not queryable, so
 * the pool drops it on release.
 */
export function handleClientErrors<P extends pg.Pool>(pool: P): P {
  pool.on('error', ignore);
  pool.on('connect', (client) => client.on('error', ignore));
  return pool;
}

export interface AvailabilityEvents {
  /** The first failed connection of an outage. */
  onDown?(error: Error): void;
  /** The first connection after it; `downMs`: how long it lasted. */
  onUp?(downMs: number): void;
}

export interface PgPoolOptions extends AvailabilityEvents {
  /** While the database is down, one connection attempt (a probe) per this interval; the others fail at once. @default 1000 */
  probeMs?: number;
}

/** A pg.Pool whose every client has an error listener, and which fails fast while the database is down. */
export function createPgPool(config: pg.PoolConfig, options: PgPoolOptions = {}) {
  const probeMs = options.probeMs ?? 1_000;
  let downSince = 0;
  let lastError: Error | null = null;
  let nextProbe = 0;
  let probing = false;

  /** Go ahead (`probe`: this attempt finds out whether the database is back), or the error to fail with at once. */
  function admit(): { probe: boolean } | DatabaseUnavailableError {
    if (!downSince) return { probe: false };
    if (!probing && Date.now() >= nextProbe) {
      probing = true;
      return { probe: true };
    }
    // No `cause`: one error object shared by every refused request would have its stack rewritten by each.
    return new DatabaseUnavailableError(`The database is unreachable (since ${new Date(downSince).toISOString()}): ${lastError?.message}`);
  }

  function settle(probe: boolean, error: Error | null) {
    if (probe) probing = false;
    if (error && isDatabaseUnavailable(error)) {
      lastError = error;
      nextProbe = Date.now() + probeMs;
      if (!downSince) {
        downSince = Date.now();
        options.onDown?.(error);
      }
    } else if (!error && downSince) {
      const downMs = Date.now() - downSince;
      downSince = 0;
      options.onUp?.(downMs);
    }
  }

  class GuardedClient extends pg.Client {
    // `any`: pg.Client.connect has a promise and a callback overload (two callback types); both are kept.
    override connect(callback?: any): any {
      const admitted = admit();
      if (admitted instanceof Error) {
        if (!callback) return Promise.reject(admitted);
        process.nextTick(callback, admitted);
        return;
      }
      if (!callback) {
        return super.connect().then(
          (client) => (settle(admitted.probe, null), client),
          (error: Error) => {
            settle(admitted.probe, error);
            throw error;
          },
        );
      }
      super.connect((error: Error | null) => {
        settle(admitted.probe, error ?? null);
        callback(error);
      });
    }
  }

  const pool = handleClientErrors(new pg.Pool({ ...config, Client: GuardedClient }));
  return { pool, isDown: () => downSince > 0 };
}
