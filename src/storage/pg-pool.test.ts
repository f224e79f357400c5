// The watchdog's check against fake servers (one that never answers, one that answers with an
// error). The pool against a port where nothing listens: connecting fails, the circuit opens,
// requests meanwhile fail at once without trying, and one probe a second finds out whether it is back.
import net from 'node:net';
import { DatabaseUnavailableError } from './db-errors';
import { answers, createPgPool } from './pg-pool';

const closedPort = () =>
  new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });

/** A TCP server on a free port; `onData` answers (or not) what a client sends. */
async function fakeServer(onData: (socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('data', () => onData(socket));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    url: `postgresql://postgres@127.0.0.1:${(srv.address() as net.AddressInfo).port}/postgres`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => srv.close(resolve));
    },
  };
}

/** A Postgres ErrorResponse: FATAL 53300, as a server with every connection slot taken sends. */
function tooManyClients(): Buffer {
  const fields = Buffer.from('SFATAL\0VFATAL\0C53300\0Msorry, too many clients already\0\0');
  const length = Buffer.alloc(4);
  length.writeInt32BE(fields.length + 4);
  return Buffer.concat([Buffer.from('E'), length, fields]);
}

describe('answers (the check of a database that may have stopped answering)', () => {
  it('rejects when the server accepts the connection but never answers', async () => {
    const server = await fakeServer(() => {});
    try {
      await expect(answers({ connectionString: server.url }, 300)).rejects.toThrow();
    } finally {
      await server.close();
    }
  });

  it('rejects when nothing listens', async () => {
    const url = `postgresql://postgres@127.0.0.1:${await closedPort()}/postgres`;
    await expect(answers({ connectionString: url }, 2_000)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('resolves when the server answers, with an error as well (it is not hung)', async () => {
    const server = await fakeServer((socket) => socket.end(tooManyClients()));
    try {
      await expect(answers({ connectionString: server.url }, 2_000)).resolves.toBeUndefined();
    } finally {
      await server.close();
    }
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
