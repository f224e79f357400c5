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

/** A message of the Postgres protocol: its type, its length, its body. */
function message(type: string, body: string): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(Buffer.byteLength(body) + 4);
  return Buffer.concat([Buffer.from(type), length, Buffer.from(body)]);
}
/** An ErrorResponse: FATAL 53300, as a server with every connection slot taken sends. */
const tooManyClients = () =>
  message('E', 'SFATAL\0VFATAL\0C53300\0Msorry, too many clients already\0\0');

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

  it('resolves when a slow server keeps talking for longer than the silence it allows', async () => {
    const server = await fakeServer(async (socket) => {
      for (let i = 0; i < 6; i += 1) {
        await new Promise((r) => setTimeout(r, 150));
        socket.write(message('S', `slow\0${i}\0`)); // ParameterStatus
      }
      socket.end(tooManyClients());
    });
    try {
      await expect(answers({ connectionString: server.url }, 400)).resolves.toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it('does not take this process being busy for the server being silent', async () => {
    const server = await fakeServer((socket) => socket.end(tooManyClients()));
    try {
      const answered = answers({ connectionString: server.url }, 200);
      // Busy past the silence allowed, before the question has even gone out.
      const until = performance.now() + 600;
      while (performance.now() < until);
      await expect(answered).resolves.toBeUndefined();
    } finally {
      await server.close();
    }
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
