// A raw WebSocket speaking graphql-transport-ws, for tests that look at what a client library
// hides: close codes, error messages before any retry, messages in order.
import WebSocket from 'ws';
import { until } from './live';

export interface RawSocket {
  socket: WebSocket;
  messages: any[];
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<void>;
}

/** A socket to `url` (ws://…/graphql); `closed` resolves with the close code and reason. */
export function rawSocket(url: string, protocol: string | string[] = 'graphql-transport-ws') {
  const socket = new WebSocket(url, protocol);
  const messages: any[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  socket.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  return { socket, messages, closed, opened } satisfies RawSocket;
}

/** A socket past connection_init with `key` (its connection_ack received). */
export async function initialisedSocket(url: string, key: string): Promise<RawSocket> {
  const conn = rawSocket(url);
  await conn.opened;
  conn.socket.send(
    JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } }),
  );
  await until(
    () => conn.messages.some((m) => m.type === 'connection_ack'),
    5_000,
    'connection_ack',
  );
  return conn;
}
