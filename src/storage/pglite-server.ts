// Embedded PGlite in a worker thread of this process, reached over the Postgres wire protocol on a
// private unix socket: the API's event loop runs no database work (in-process PGlite ran every
// statement on it, and under load requests waited behind each other's SQL), and the server talks
// to it through the same code as to Postgres (pg pool, Prisma's pg adapter, the migration engine).
// A thread, not a process: killing the server ends the database too, and it keeps one owner.
// (That thread hosts every embedded database of the process: see getHost.)
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
import { isMainThread, parentPort, type Worker } from 'node:worker_threads';
import type { PGlite } from '@electric-sql/pglite';
import { startTsThread } from '../lib/ts-thread';
import { createAnalyzeSchedule, rowsChanged } from './pglite-analyze';
import {
  namedParse,
  PARSE_COMPLETE,
  PROTOCOL_3,
  simpleQuery,
  SSL_REQUEST,
  startupReply,
} from './pglite-protocol';

export interface PgliteServerOptions {
  /** A directory, or omitted for in-memory. */
  dataDir?: string;
  /** A tarball from `dumpDataDir` to start from. */
  loadDataDir?: Blob;
}

export interface PgliteServer {
  /** A Postgres connection string to the socket. */
  url: string;
  /** Closes the socket and the database (the thread stays for the process's next one, without keeping the process alive). */
  close(): Promise<void>;
}

type ToHost =
  | { open: number; dataDir?: string; load: Uint8Array<ArrayBuffer> | null; socketDir: string }
  | { close: number };
type FromHost = { opened: number } | { failed: number; error: string } | { closed: number };

// One thread per process hosts every embedded database the process opens (a server has one; a test
// process opens many): loading PGlite and compiling its WebAssembly are most of the cost of opening
// one, and are paid once. It is started on first use and does not keep the process alive while it
// hosts nothing.
let host: { worker: Worker; waiting: Map<number, (message: FromHost) => void> } | null = null;
let nextId = 1;
let openCount = 0;
let idle: NodeJS.Timeout | undefined;
const IDLE_MS = 1_000;

function getHost() {
  if (host) return host;
  const worker = startTsThread(__filename, 'hostInWorker');
  const waiting = new Map<number, (message: FromHost) => void>();
  const current = { worker, waiting };
  const fail = (error: string) => {
    if (host === current) host = null;
    for (const [id, answer] of waiting) answer({ failed: id, error });
    waiting.clear();
  };
  worker.on('message', (message: FromHost) => {
    const id =
      'opened' in message ? message.opened : 'failed' in message ? message.failed : message.closed;
    waiting.get(id)?.(message);
    waiting.delete(id);
  });
  // A thread that fails ends: its databases' connections fail, and their pools report them down.
  worker.on('error', (error) => fail(String(error)));
  worker.on('exit', (code) => fail(`the database thread exited (${code})`));
  worker.unref();
  host = current;
  return current;
}

function ask(message: ToHost): Promise<FromHost> {
  const { worker, waiting } = getHost();
  const id = 'open' in message ? message.open : message.close;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    worker.postMessage(message, 'open' in message && message.load ? [message.load.buffer] : []);
  });
}

/** Opens the database in the host thread and waits until its socket listens. */
export async function startPgliteServer(options: PgliteServerOptions): Promise<PgliteServer> {
  // A directory only this user can enter (mkdtemp: 0700): the socket has no password.
  const socketDir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-pglite-'));
  const load = options.loadDataDir ? new Uint8Array(await options.loadDataDir.arrayBuffer()) : null;
  const id = nextId++;
  // The thread keeps the process alive while a database is open in it.
  clearTimeout(idle);
  if (openCount++ === 0) getHost().worker.ref();
  const release = () => {
    if (--openCount > 0) return;
    host?.worker.unref();
    // A thread left hosting nothing still holds PGlite and its WebAssembly: ended after a pause
    // (a test process opens and closes databases one after another, and each jest test file gets
    // this module afresh, so without this every file left a thread of ~150 MB behind).
    idle = setTimeout(() => {
      if (openCount > 0 || !host) return;
      void host.worker.terminate();
      host = null;
    }, IDLE_MS);
    idle.unref();
  };
  const opened = await ask({ open: id, dataDir: options.dataDir, load, socketDir });
  if (!('opened' in opened)) {
    release();
    await rm(socketDir, { recursive: true, force: true });
    throw new Error(`embedded database: ${'error' in opened ? opened.error : 'not opened'}`);
  }
  let closing: Promise<void> | undefined;
  return {
    url: `postgresql://postgres@${encodeURIComponent(socketDir)}/postgres`,
    close: () =>
      (closing ??= (async () => {
        // A thread that is gone took the database with it.
        if (host) await ask({ close: id });
        release();
        await rm(socketDir, { recursive: true, force: true });
      })()),
  };
}

/** The host thread's side: opens databases and serves their sockets until told to close them. */
export function hostInWorker() {
  if (isMainThread || !parentPort) throw new Error('hostInWorker runs in a worker thread');
  const port = parentPort;
  // Loaded here: the main thread does not load PGlite at all.
  const { openPglite } = require('./pglite') as typeof import('./pglite');
  const open = new Map<number, { lite: PGlite; server: { close(): Promise<void> } }>();
  port.on('message', async (message: ToHost) => {
    if ('open' in message) {
      try {
        const { dataDir, load, socketDir } = message;
        const lite = await openPglite({
          dataDir,
          loadDataDir: load ? new Blob([load]) : undefined,
        });
        const server = await listen(lite, path.join(socketDir, '.s.PGSQL.5432'));
        open.set(message.open, { lite, server });
        port.postMessage({ opened: message.open } satisfies FromHost);
      } catch (error) {
        port.postMessage({ failed: message.open, error: String(error) } satisfies FromHost);
      }
      return;
    }
    const db = open.get(message.close);
    open.delete(message.close);
    if (db) {
      await db.server.close();
      if (!db.lite.closed) await db.lite.close().catch(() => {});
    }
    port.postMessage({ closed: message.close } satisfies FromHost);
  });
}

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

  const analyze = createAnalyzeSchedule();
  async function analyzeAll() {
    await lite.exec('ANALYZE');
    const [{ rows }] = (
      await lite.query<{ rows: number }>(
        "SELECT coalesce(sum(greatest(reltuples, 0)), 0)::float8 AS rows FROM pg_class WHERE relkind = 'r'",
      )
    ).rows;
    analyze.analyzed(rows);
  }

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
        analyze.changed(rowsChanged(reply));
        // A failed ANALYZE is tried again a minute later.
        if (!owner && analyze.due()) await analyzeAll().catch(() => analyze.analyzed(0));
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
