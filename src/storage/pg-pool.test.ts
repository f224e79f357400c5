// The pool against a port where nothing listens: connecting fails, the circuit opens, requests
// meanwhile fail at once without trying, and one probe a second finds out whether it is back.
import net from 'node:net';
import { DatabaseUnavailableError } from './db-errors';
import { createPgPool } from './pg-pool';

const closedPort = () =>
  new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });

describe('createPgPool', () => {
  it('fails fast while the database is down, probing once per interval, and reports the outage once', async () => {
    const onDown = jest.fn();
    const onUp = jest.fn();
    const { pool, isDown } = createPgPool(
      {
        connectionString: `postgresql://postgres@127.0.0.1:${await closedPort()}/postgres`,
        connectionTimeoutMillis: 2_000,
      },
      { probeMs: 300, onDown, onUp },
    );
    try {
      const first = await pool.query('select 1').catch((e: Error) => e);
      expect((first as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
      expect(isDown()).toBe(true);
      expect(onDown).toHaveBeenCalledTimes(1);

      // Within the probe interval: refused without a connection attempt.
      const refused = await Promise.all(
        [pool.query('select 1'), pool.connect()].map((p) =>
          p.then(
            () => null,
            (e: Error) => e,
          ),
        ),
      );
      for (const error of refused) expect(error).toBeInstanceOf(DatabaseUnavailableError);

      // After it: one attempt goes through (and fails again); the others are still refused.
      await new Promise((r) => setTimeout(r, 350));
      const next = await Promise.all(
        [pool.query('select 1'), pool.query('select 1')].map((p) =>
          p.then(
            () => null,
            (e: Error) => e,
          ),
        ),
      );
      expect(next.filter((e) => e instanceof DatabaseUnavailableError)).toHaveLength(1);
      expect(
        next.filter((e) => (e as NodeJS.ErrnoException | null)?.code === 'ECONNREFUSED'),
      ).toHaveLength(1);
      expect(onDown).toHaveBeenCalledTimes(1);
      expect(onUp).not.toHaveBeenCalled();
    } finally {
      await pool.end();
    }
  });
});
