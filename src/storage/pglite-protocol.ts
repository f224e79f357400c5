// The few Postgres wire protocol messages the embedded database's socket (pglite-server.ts) reads
// or writes itself; PGlite answers everything else.

export const SSL_REQUEST = 80877103;
export const PROTOCOL_3 = 196608;

export const PARSE_COMPLETE = Buffer.from([0x31, 0, 0, 0, 4]);

/** The Parse message an exchange starts with, when it names its statement. */
export function namedParse(bytes: Buffer): { name: string; message: Buffer } | null {
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

export function simpleQuery(sql: string): Buffer {
  return message('Q', cstring(sql));
}

/** What a Postgres server answers a startup (no password: only this user reaches the socket). */
export function startupReply(version: string): Buffer {
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
