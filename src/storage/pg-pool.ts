// Postgres connections that outlive the database going away. pg reports a broken connection
// ("read ECONNRESET", "Connection terminated unexpectedly") as an 'error' event on its client,
// and an 'error' event nobody listens to ends the process; pg-pool listens only while a client
// is idle, so a client checked out (a transaction, Prisma's, the migration engine's) had none.
// And while the database is unreachable, connecting is refused at once (cockatiel's circuit
// breaker, as for the judge) instead of each request waiting for the connect timeout, so that
// requests get their 503 quickly.
import { BrokenCircuitError, circuitBreaker, ConsecutiveBreaker, handleWhen } from 'cockatiel';
import pg from 'pg';
import { DatabaseUnavailableError, isDatabaseUnavailable } from './db-errors';

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
  // Opened by one failed connection (only the database being unreachable counts); while open,
  // connecting fails at once; after `probeMs` one attempt goes through (others wait for it).
  const breaker = circuitBreaker(handleWhen(isDatabaseUnavailable), {
    halfOpenAfter: options.probeMs ?? 1_000,
    breaker: new ConsecutiveBreaker(1),
  });
  let downSince = 0;
  breaker.onBreak((reason) => {
    // A failed probe opens it again: the same outage.
    if (downSince) return;
    downSince = Date.now();
    options.onDown?.(
      'error' in reason ? reason.error : new Error('the database circuit was opened'),
    );
  });
  breaker.onReset(() => {
    if (!downSince) return;
    const downMs = Date.now() - downSince;
    downSince = 0;
    options.onUp?.(downMs);
  });
  const unreachable = () => {
    const last = breaker.lastFailure;
    const reason = last && 'error' in last ? last.error.message : 'unknown';
    return new DatabaseUnavailableError(
      `The database is unreachable (since ${new Date(downSince || Date.now()).toISOString()}): ${reason}`,
    );
  };

  class GuardedClient extends pg.Client {
    // biome-ignore lint/suspicious/noExplicitAny: pg.Client.connect has a promise and a callback overload (two callback types); both are kept.
    override connect(callback?: any): any {
      const connected = breaker
        .execute(() => super.connect())
        .catch((error: unknown) => {
          throw error instanceof BrokenCircuitError ? unreachable() : error;
        });
      if (!callback) return connected;
      connected.then(() => callback(null), callback);
    }
  }

  const pool = handleClientErrors(new pg.Pool({ ...config, Client: GuardedClient }));
  return { pool, isDown: () => downSince > 0 };
}
