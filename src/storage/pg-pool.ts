// Postgres connections that outlive the database going away. pg reports a broken connection
// ("read ECONNRESET", "Connection terminated unexpectedly") as an 'error' event on its client,
// and an 'error' event nobody listens to ends the process; pg-pool listens only while a client
// is idle, so a client checked out (a transaction, Prisma's, the migration engine's) had none.
// And while the database is unreachable, connecting is refused at once (cockatiel's circuit
// breaker, as for the judge) instead of each request waiting for the connect timeout, so that
// requests get their 503 quickly.
//
// A database that stops answering without closing anything (a frozen server, a hung disk, a
// network partition) raises no error at all: statements on open connections wait for ever. The
// watchdog (pg-watchdog.ts) notices a statement waiting `probeAfterMs`, and checks on a
// connection of its own whether the database answers; when it does not, every connection is
// closed (their statements reject, as a 503) and the circuit opens, so that its probe finds the
// database when it is back. A slow statement on a database that answers is left to finish.
// The check, not a per-statement time limit, because only the database can tell a slow statement
// from an unanswered one; on a fresh connection, because a pooled one may be the stuck one; and
// failed only by silence as long as the connect timeout (the pool's own measure of a database
// that answers), as a loaded server is slow but not silent.
// TCP keepalive is on as well: it finds a connection whose peer is gone (a host that vanished, a
// NAT that forgot it) even while nothing is sent, and keeps idle connections known to firewalls,
// but only after the kernel's probes (Linux's defaults: 9, 75 s apart, after the idle time given
// here), and never a frozen server, whose kernel answers them. Statements through a Submittable
// (pg-cursor, pg-query-stream: we use none) are not watched. Embedded PGlite (a thread of this
// process behind a socket, storage/pglite-server.ts) uses this pool without the watchdog: see db.ts.
import { BrokenCircuitError, circuitBreaker, ConsecutiveBreaker, handleWhen } from 'cockatiel';
import pg from 'pg';
import { DatabaseUnavailableError, isDatabaseUnavailable } from './db-errors';
import { createWatchdog } from './pg-watchdog';

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
  /**
   * A statement unanswered this long makes the pool check whether the database answers at all
   * (a fresh connection and `SELECT 1`; silent for the connect timeout: no). @default 3000
   */
  probeAfterMs?: number;
}

/** Closes the client's socket at once (no goodbye to a server that would not read it): its statements reject with `error`. */
function cut(client: pg.Client, error: Error) {
  client.connection.stream.destroy(error);
}

/**
 * Connects afresh, past the pool and its circuit, and runs `SELECT 1`; rejects if the server sends
 * nothing for `silenceMs` meanwhile. Anything it sends is an answer: a loaded server that is slow
 * to let us in is not a hung one, and an error (too many connections, starting up) is an answer
 * too. Silence is judged after the event loop's pending I/O (setImmediate), and counted from our
 * last word as well, so that this process being busy for that long (a long synchronous task, a GC
 * pause) does not pass for the server's silence while its answer, or our question, waits.
 */
export async function answers(config: pg.PoolConfig, silenceMs: number): Promise<void> {
  // Without pg's own connect timeout: the silence below is the one limit.
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 0 });
  client.on('error', ignore);
  // Since the server last sent something, or we did (startup goes out on connecting): its turn to speak.
  let heard = performance.now();
  const hear = () => {
    heard = performance.now();
  };
  for (const event of ['connect', 'sslconnect', 'message']) client.connection.on(event, hear);
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const listen = (ms: number) => {
    timer = setTimeout(
      () =>
        setImmediate(() => {
          if (done) return;
          const silentMs = performance.now() - heard;
          if (silentMs < silenceMs) return listen(silenceMs - silentMs);
          cut(client, new Error(`no answer from a new connection for ${silenceMs} ms`));
        }),
      ms,
    );
  };
  listen(silenceMs);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    if (!(error instanceof pg.DatabaseError)) throw error;
  } finally {
    done = true;
    clearTimeout(timer);
    void client.end().catch(ignore);
  }
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

  // Every connected client, idle or checked out: what the watchdog closes.
  const clients = new Set<pg.Client>();
  const probeAfterMs = options.probeAfterMs ?? 3_000;
  const checkSilenceMs = config.connectionTimeoutMillis || 3_000;
  // Infinity: no watchdog (embedded PGlite, in this process: see db.ts).
  const watchdog: { started(): () => void } =
    probeAfterMs === Number.POSITIVE_INFINITY
      ? { started: () => ignore }
      : createWatchdog({
          probeAfterMs,
          check: () => answers(config, checkSilenceMs),
          onUnanswered(error) {
            const unanswered = new DatabaseUnavailableError(
              `The database did not answer: a statement waited ${probeAfterMs} ms, then a check failed (${error.message})`,
            );
            // Counted as a failed connection: the circuit opens (unless open already), so that requests
            // fail at once and its probe finds the database back.
            breaker.execute(() => Promise.reject(unanswered)).catch(ignore);
            // Idle ones too: they are on the same unanswering server, and would take the next requests.
            for (const client of clients) cut(client, unanswered);
          },
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

    // Every form of query but a Submittable's: a promise, or a callback as the second or third
    // argument or in the config (pg-pool's own `pool.query` passes one).
    // biome-ignore lint/suspicious/noExplicitAny: pg.Client.query has a dozen overloads; all are kept.
    override query(...args: any[]): any {
      const [config, values, callback] = args;
      if (typeof config?.submit === 'function') return super.query(config, values, callback);
      const settled = watchdog.started();
      const settling =
        (fn: (...results: unknown[]) => void) =>
        (...results: unknown[]) => {
          settled();
          fn(...results);
        };
      try {
        if (typeof values === 'function') return super.query(config, settling(values));
        if (typeof callback === 'function') return super.query(config, values, settling(callback));
        if (typeof config?.callback === 'function')
          return super.query({ ...config, callback: settling(config.callback) }, values);
        const result = super.query(config, values);
        result.then(settled, settled);
        return result;
      } catch (error) {
        settled();
        throw error;
      }
    }
  }

  const pool = handleClientErrors(
    // Keepalive's first probe after 10 s of silence (see above).
    new pg.Pool({
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      ...config,
      Client: GuardedClient,
    }),
  );
  pool.on('connect', (client) => {
    clients.add(client);
    client.once('end', () => clients.delete(client));
  });
  return { pool, isDown: () => downSince > 0 };
}
