// Embedded PGlite in a worker thread of this process, reached over the Postgres wire protocol on a
// private unix socket: the API's event loop runs no database work (in-process PGlite ran every
// statement on it, and under load requests waited behind each other's SQL), and the server talks
// to it through the same code as to Postgres (pg pool, Prisma's pg adapter, the migration engine).
// A thread, not a process: killing the server ends the database too, and it keeps one owner.
//
// PGlite is one Postgres session. Its connections are multiplexed here, one exchange at a time:
// what a client sends up to a Sync or a simple Query runs whole, and a connection whose exchange
// leaves a transaction open keeps the session until its transaction ends (the others wait), as
// in-process PGlite's transaction lock did. So session state is shared: a connection that closes
// in a transaction is rolled back, and a named statement is prepared once for all connections (a
// connection's Parse of a name the session has with the same text is answered without parsing;
// with another text, it fails as in Postgres). Not supported: COPY, cancel requests, LISTEN/NOTIFY,
// session settings (SET without LOCAL): none is used.
//
// Not @electric-sql/pglite-socket: its multiplexer interleaves connections message by message
// (one's Parse, another's Parse, then the first one's Bind runs the second one's statement), and it
// pins its own PGlite release and a set of extension packages.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { PGlite } from '@electric-sql/pglite';

export interface PgliteServerOptions {
  /** A directory, or omitted for in-memory. */
  dataDir?: string;
  /** A tarball from `dumpDataDir` to start from. */
  loadDataDir?: Blob;
}

export interface PgliteServer {
  /** A Postgres connection string to the socket. */
  url: string;
  /** Closes the socket and the database, and ends the thread. */
  close(): Promise<void>;
}

type FromWorker = { ready: true } | { ready: false; error: string } | { closed: true };

/** Starts the thread and waits until it listens. */
export async function startPgliteServer(options: PgliteServerOptions): Promise<PgliteServer> {
  // A directory only this user can enter (mkdtemp: 0700): the socket has no password.
  const socketDir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-pglite-'));
  const load = options.loadDataDir ? new Uint8Array(await options.loadDataDir.arrayBuffer()) : null;
  // The worker runs this file through tsx, as the CLI does (jest's transform does not reach threads).
  const worker = new Worker(
    `require('tsx/cjs'); require(${JSON.stringify(__filename)}).serveInWorker();`,
    {
      eval: true,
      workerData: { dataDir: options.dataDir, load, socketDir },
      transferList: load ? [load.buffer as ArrayBuffer] : [],
    },
  );
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  // An error in the thread ends it: connections then fail, and the pool reports the database down.
  const failed = new Promise<never>((_, reject) => worker.once('error', reject));
  worker.on('error', () => {});
  const ready = new Promise<void>((resolve, reject) =>
    worker.once('message', (message: FromWorker) =>
      'ready' in message && message.ready
        ? resolve()
        : reject(new Error(`embedded database: ${'error' in message ? message.error : message}`)),
    ),
  );
  try {
    await Promise.race([ready, failed, exit.then(() => Promise.reject(new Error('exited')))]);
  } catch (error) {
    await worker.terminate();
    await rm(socketDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgresql://postgres@${encodeURIComponent(socketDir)}/postgres`,
    close: async () => {
      if (!exited) {
        const closed = new Promise<void>((resolve) =>
          worker.on('message', (m: FromWorker) => 'closed' in m && resolve()),
        );
        worker.postMessage('close');
        await Promise.race([closed, exit]);
        await worker.terminate();
      }
      await rm(socketDir, { recursive: true, force: true });
    },
  };
}

/** The thread's side: opens PGlite and serves the socket until told to close. */
export async function serveInWorker() {
  if (isMainThread || !parentPort) throw new Error('serveInWorker runs in a worker thread');
  const port = parentPort;
  const { dataDir, load, socketDir } = workerData as {
    dataDir?: string;
    load: Uint8Array<ArrayBuffer> | null;
    socketDir: string;
  };
  try {
    // Loaded here: the main thread does not load PGlite at all.
    const { openPglite } = require('./pglite') as typeof import('./pglite');
    const lite = await openPglite({ dataDir, loadDataDir: load ? new Blob([load]) : undefined });
    const server = await listen(lite, path.join(socketDir, '.s.PGSQL.5432'));
    port.on('message', async () => {
      await server.close();
      if (!lite.closed) await lite.close();
      port.postMessage({ closed: true } satisfies FromWorker);
      port.close();
    });
    port.postMessage({ ready: true } satisfies FromWorker);
  } catch (error) {
    port.postMessage({ ready: false, error: String(error) } satisfies FromWorker);
    port.close();
  }
}

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;

interface Connection {
  socket: Socket;
  /** Bytes received and not yet run. */
  pending: Buffer;
  started: boolean;
}

async function listen(lite: PGlite, socketPath: string) {
  const version = (await lite.query<{ v: string }>('SHOW server_version')).rows[0]?.v ?? '17';
  // Exchanges waiting to run, in arrival order; `owner`: the connection in a transaction.
  const queue: { connection: Connection; bytes: Buffer }[] = [];
  let owner: Connection | null = null;
  // Named statements of the session, by name: their Parse messages.
  const prepared = new Map<string, Buffer>();
  let running = false;
  const sockets = new Set<Socket>();

  async function drain() {
    if (running) return;
    running = true;
    try {
      for (;;) {
        const at = owner ? queue.findIndex((item) => item.connection === owner) : 0;
        if (at < 0 || queue.length === 0) break;
        const [{ connection, bytes }] = queue.splice(at, 1);
        const parse = namedParse(bytes);
        // Parsed already (by another connection): the session has it, and says so without parsing again.
        const known = parse && prepared.get(parse.name)?.equals(parse.message);
        let reply: Uint8Array;
        try {
          reply = await lite.execProtocolRaw(
            new Uint8Array(known ? bytes.subarray(parse.message.length) : bytes),
          );
          if (known) reply = Buffer.concat([PARSE_COMPLETE, reply]);
          else if (parse && reply[0] === PARSE_COMPLETE[0])
            prepared.set(parse.name, Buffer.from(parse.message));
        } catch {
          // PGlite itself failed (a statement's error is an ErrorResponse, not this): the connection
          // is closed, and rolled back as it closes.
          owner = connection;
          connection.socket.destroy();
          continue;
        }
        // The exchange ends with ReadyForQuery ('Z', length 5, status): 'I' is outside a transaction.
        const status = reply.length >= 6 ? reply[reply.length - 1] : 0x49;
        owner = status === 0x49 ? null : connection;
        if (!connection.socket.destroyed) connection.socket.write(reply);
      }
    } finally {
      running = false;
    }
  }

  async function closed(connection: Connection) {
    for (let i = queue.length - 1; i >= 0; i--)
      if (queue[i].connection === connection) queue.splice(i, 1);
    if (owner === connection) {
      // Its transaction ends with it, as a Postgres backend's would.
      queue.unshift({ connection, bytes: simpleQuery('ROLLBACK') });
      await drain();
    }
  }

  function received(connection: Connection, data: Buffer) {
    connection.pending = Buffer.concat([connection.pending, data]);
    let end = 0;
    let cut = 0;
    for (;;) {
      const rest = connection.pending.length - end;
      if (!connection.started) {
        if (rest < 8) break;
        const length = connection.pending.readInt32BE(end);
        if (rest < length) break;
        const code = connection.pending.readInt32BE(end + 4);
        end += length;
        cut = end;
        if (code === SSL_REQUEST) connection.socket.write('N');
        else if (code === PROTOCOL_3) {
          connection.started = true;
          connection.socket.write(startupReply(version));
        } else connection.socket.destroy(); // a cancel request, or a protocol we do not speak
        continue;
      }
      if (rest < 5) break;
      const type = connection.pending[end];
      const length = 1 + connection.pending.readInt32BE(end + 1);
      if (rest < length) break;
      end += length;
      if (type === 0x58) {
        // Terminate
        connection.socket.end();
        return;
      }
      // Sync or simple Query: an exchange is complete.
      if (type === 0x53 || type === 0x51) {
        queue.push({ connection, bytes: connection.pending.subarray(cut, end) });
        cut = end;
      }
    }
    connection.pending = connection.pending.subarray(cut);
    void drain();
  }

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const connection: Connection = { socket, pending: Buffer.alloc(0), started: false };
    socket.on('data', (data) => received(connection, data));
    socket.on('error', () => {});
    socket.once('close', () => {
      sockets.delete(socket);
      void closed(connection);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const PARSE_COMPLETE = Buffer.from([0x31, 0, 0, 0, 4]);

/** The Parse message an exchange starts with, when it names its statement. */
function namedParse(bytes: Buffer): { name: string; message: Buffer } | null {
  if (bytes[0] !== 0x50 || bytes[5] === 0) return null;
  const length = 1 + bytes.readInt32BE(1);
  return {
    name: bytes.toString('utf8', 5, bytes.indexOf(0, 5)),
    message: bytes.subarray(0, length),
  };
}

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const cstring = (text: string) => Buffer.from(`${text}\0`, 'utf8');

function simpleQuery(sql: string): Buffer {
  return message('Q', cstring(sql));
}

/** What a Postgres server answers a startup (no password: only this user reaches the socket). */
function startupReply(version: string): Buffer {
  const parameter = (name: string, value: string) =>
    message('S', Buffer.concat([cstring(name), cstring(value)]));
  const authOk = message('R', Buffer.from([0, 0, 0, 0]));
  const keyData = message('K', Buffer.alloc(8));
  return Buffer.concat([
    authOk,
    parameter('server_version', version),
    parameter('server_encoding', 'UTF8'),
    parameter('client_encoding', 'UTF8'),
    parameter('DateStyle', 'ISO, MDY'),
    parameter('integer_datetimes', 'on'),
    parameter('standard_conforming_strings', 'on'),
    keyData,
    message('Z', Buffer.from('I')),
  ]);
}
