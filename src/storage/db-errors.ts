// Telling "the database is down or unreachable" (a 503: try again shortly) from every other
// database error (a bug or bad data: a 500). The same failure arrives in many wrappings: the
// driver's socket error, pg's own connection errors, Postgres' SQLSTATE, Prisma's error codes and
// its driver-adapter errors (whose `cause` is a plain object), GraphQL's originalError.

/** Raised without a round trip while the database is known to be unreachable. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}

// Node socket errors.
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EAI_AGAIN',
]);
// Prisma: can't reach the server (P1001), timed out reaching it (P1002), server closed the
// connection (P1017), timed out waiting for a pooled connection (P2024), too many connections (P2037).
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1017', 'P2024', 'P2037']);
// Postgres: shutting down by administrator (57P01) or crash (57P02), starting up or in recovery
// (57P03), too many connections (53300); class 08 is connection exceptions.
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
// Kinds of @prisma/driver-adapter-utils errors (DriverAdapterError.cause.kind).
const ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);
// pg and pg-pool raise these without a code.
const MESSAGES = [
  /Connection terminated/i, // unexpectedly, or due to connection timeout
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error and is not queryable/i,
  /Can't reach database server/i,
  /Server has closed the connection/i,
];

const isCode = (code: unknown) =>
  typeof code === 'string' &&
  (SOCKET_CODES.has(code) ||
    PRISMA_CODES.has(code) ||
    SQLSTATES.has(code) ||
    /^08[0-9A-Z]{3}$/.test(code));

type Wrapped = {
  code?: unknown;
  kind?: unknown;
  originalCode?: unknown;
  message?: unknown;
  cause?: unknown;
  originalError?: unknown;
  meta?: { driverAdapterError?: unknown };
  errors?: unknown;
};

/** Whether `error`, or anything it wraps, matches. */
function anyLayer(error: unknown, matches: (layer: Wrapped) => boolean): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length && seen.size < 20) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const o = e as Wrapped;
    if (matches(o)) return true;
    // AggregateError (a connect that tried IPv4 and IPv6) holds each attempt's error.
    queue.push(
      o.cause,
      o.originalError,
      o.meta?.driverAdapterError,
      ...(Array.isArray(o.errors) ? o.errors : []),
    );
  }
  return false;
}

/** Whether `error` (or anything it wraps) says the database cannot be reached right now. */
export function isDatabaseUnavailable(error: unknown): boolean {
  return anyLayer(
    error,
    (o) =>
      o instanceof DatabaseUnavailableError ||
      isCode(o.code) ||
      isCode(o.originalCode) ||
      (typeof o.kind === 'string' && ADAPTER_KINDS.has(o.kind)) ||
      (typeof o.message === 'string' && MESSAGES.some((m) => m.test(o.message as string))),
  );
}

// Postgres class 22 (data exception: a number out of range, a character it cannot store such as
// U+0000, a string too long); Prisma's value too long (P2000) and out of range (P2020).
const isDataCode = (code: unknown) =>
  typeof code === 'string' &&
  (/^22[0-9A-Z]{3}$/.test(code) || code === 'P2000' || code === 'P2020');

/** Whether the database refused a value the caller sent (a client's mistake, not our bug). */
export function isRejectedData(error: unknown): boolean {
  return anyLayer(error, (o) => isDataCode(o.code) || isDataCode(o.originalCode));
}

// Postgres's serialization failure (40001) and deadlock (40P01), and Prisma's name for both (P2034):
// the transaction was rolled back because another one wrote the same rows at the same moment.
const isConflictCode = (code: unknown) => code === '40001' || code === '40P01' || code === 'P2034';

/** Whether the database rolled the transaction back for a conflict with another: safe to send again. */
export function isTransactionConflict(error: unknown): boolean {
  return anyLayer(error, (o) => isConflictCode(o.code) || isConflictCode(o.originalCode));
}

export const TRANSACTION_CONFLICT_MESSAGE =
  'Another operation changed the same data at the same moment, and this one was rolled back: send it again.';

export const REJECTED_DATA_MESSAGE =
  'A value cannot be stored: a number is out of range, or a text holds a character the database refuses (such as U+0000).';
