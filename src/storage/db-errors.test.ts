import { PrismaClientKnownRequestError } from '@prisma/client/runtime/client';
import { DriverAdapterError } from '@prisma/driver-adapter-utils';
import { GraphQLError } from 'graphql';
import pg from 'pg';
import pino from 'pino';
import { createMaskError } from '../plugins/use-error-codes';
import {
  DatabaseUnavailableError,
  isDatabaseUnavailable,
  isRejectedData,
  isTransactionConflict,
} from './db-errors';

// Errors as the driver, Postgres and Prisma raise them (Prisma passes the driver's own errors
// without a code, "Connection terminated unexpectedly" say, through unwrapped).
const socketError = (code: string, message: string) =>
  Object.assign(new Error(message), {
    code,
    errno: -111,
    syscall: 'connect',
    address: '127.0.0.1',
    port: 5432,
  });
const pgError = (code: string, message: string) =>
  Object.assign(new pg.DatabaseError(message, 0, 'error'), { code, severity: 'FATAL' });
const prismaError = (code: string, message: string, meta?: Record<string, unknown>) =>
  new PrismaClientKnownRequestError(message, { code, clientVersion: '7.10.0', meta });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a refused connection', socketError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['a reset connection', socketError('ECONNRESET', 'read ECONNRESET')],
    ['an unknown host', socketError('ENOTFOUND', 'getaddrinfo ENOTFOUND db')],
    ['pg: connection ended', new Error('Connection terminated unexpectedly')],
    [
      'pg-pool: connect timeout',
      new Error('Connection terminated due to connection timeout', {
        cause: new Error('Connection terminated unexpectedly'),
      }),
    ],
    ['pg-pool: no free client in time', new Error('timeout exceeded when trying to connect')],
    [
      'pg: a broken client',
      new Error('Client has encountered a connection error and is not queryable'),
    ],
    [
      'Postgres shutting down (57P01)',
      pgError('57P01', 'terminating connection due to administrator command'),
    ],
    [
      'Postgres crashed (57P02)',
      pgError('57P02', 'terminating connection because of crash of another server process'),
    ],
    ['Postgres starting up (57P03)', pgError('57P03', 'the database system is starting up')],
    ['too many connections (53300)', pgError('53300', 'sorry, too many clients already')],
    ['a connection exception (class 08)', pgError('08006', 'connection failure')],
    ['Prisma P1001', prismaError('P1001', "Can't reach database server at 127.0.0.1:5432")],
    ['Prisma P1017', prismaError('P1017', 'Server has closed the connection.')],
    [
      'Prisma P2024',
      prismaError('P2024', 'Timed out fetching a new connection from the connection pool.'),
    ],
    [
      'Prisma P2039 with the adapter error',
      prismaError(
        'P2039',
        'Database error. Code: `57P03`. Message: `the database system is starting up`',
        {
          driverAdapterError: new DriverAdapterError({
            kind: 'postgres',
            code: '57P03',
            severity: 'FATAL',
            message: 'the database system is starting up',
            detail: undefined,
            column: undefined,
            hint: undefined,
            originalCode: '57P03',
          }),
        },
      ),
    ],
    [
      'a driver adapter error (connection closed)',
      new DriverAdapterError({ kind: 'ConnectionClosed' }),
    ],
    [
      'a driver adapter error (not reachable)',
      new DriverAdapterError({ kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 5432 }),
    ],
    [
      'our fast failure while it is down',
      new DatabaseUnavailableError('The database is unreachable'),
    ],
    [
      'wrapped in a GraphQL error',
      new GraphQLError('x', {
        originalError: socketError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      }),
    ],
    [
      'any of an AggregateError (IPv4 and IPv6 tried)',
      new AggregateError(
        [
          socketError('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432'),
          socketError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
        ],
        'connect failed',
      ),
    ],
  ])('says yes for %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    [
      'a unique violation',
      pgError('23505', 'duplicate key value violates unique constraint "spans_pkey"'),
    ],
    ['a syntax error', pgError('42601', 'syntax error at or near "SELEC"')],
    ['Prisma P2002', prismaError('P2002', 'Unique constraint failed on the fields: (`email`)')],
    [
      'Prisma P2039 with another Postgres error',
      prismaError('P2039', 'Database error. Code: `22012`.', {
        driverAdapterError: new DriverAdapterError({
          kind: 'postgres',
          code: '22012',
          severity: 'ERROR',
          message: 'division by zero',
          detail: undefined,
          column: undefined,
          hint: undefined,
          originalCode: '22012',
        }),
      }),
    ],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a user error', new GraphQLError('bad', { extensions: { code: 'BAD_USER_INPUT' } })],
    ['nothing', undefined],
    ['a string', 'ECONNREFUSED'],
  ])('says no for %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('ends on errors that cause each other', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isDatabaseUnavailable(a)).toBe(false);
  });
});

describe('isRejectedData', () => {
  const pgError = (code: string) => Object.assign(new Error('data exception'), { code });
  it.each([
    ['numeric out of range (22003)', pgError('22003')],
    ['U+0000 in text (22P05)', pgError('22P05')],
    ['wrapped by GraphQL', new GraphQLError('x', { originalError: pgError('22021') })],
    [
      'a driver adapter error',
      new DriverAdapterError({
        kind: 'postgres',
        code: '22003',
        severity: 'ERROR',
        message: 'numeric field overflow',
        detail: undefined,
        column: undefined,
        hint: undefined,
        originalCode: '22003',
        originalMessage: 'numeric field overflow',
      }),
    ],
  ])('is true for %s', (_what, error) => expect(isRejectedData(error)).toBe(true));
  it.each([
    ['a unique violation (23505)', pgError('23505')],
    ['a connection failure', pgError('57P01')],
    ['a plain error', new Error('boom')],
  ])('is false for %s', (_what, error) => expect(isRejectedData(error)).toBe(false));
});

describe('isTransactionConflict', () => {
  // A real deadlock: two sessions each hold one advisory lock and ask for the other's. Postgres
  // (the machine's, or DATABASE_URL's; embedded PGlite has one session and cannot deadlock)
  // rolls one back with 40P01.
  it('knows a deadlock Postgres detected, and masks it as TRANSACTION_CONFLICT (409, Retry-After)', async () => {
    const url = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
    const [a, b] = [new pg.Client(url), new pg.Client(url)];
    await Promise.all([a.connect(), b.connect()]);
    try {
      const lock = (c: pg.Client, id: number) => c.query('SELECT pg_advisory_xact_lock($1)', [id]);
      await Promise.all([a.query('BEGIN'), b.query('BEGIN')]);
      await Promise.all([lock(a, 424_201), lock(b, 424_202)]);
      const outcomes = await Promise.allSettled([lock(a, 424_202), lock(b, 424_201)]);
      const failed = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
      expect(failed).toHaveLength(1);
      expect(failed[0].code).toBe('40P01');
      expect(isTransactionConflict(failed[0])).toBe(true);
      expect(isDatabaseUnavailable(failed[0])).toBe(false);

      const masked = createMaskError(pino({ level: 'silent' }))(
        new GraphQLError('wrapped', { originalError: failed[0], path: ['createScores'] }),
      ) as GraphQLError;
      expect(masked.extensions.code).toBe('TRANSACTION_CONFLICT');
      expect(masked.path).toEqual(['createScores']);
      expect(masked.extensions.http).toEqual({ status: 409, headers: { 'Retry-After': '1' } });
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it("knows Prisma's name for it, and nothing else", () => {
    expect(
      isTransactionConflict(
        prismaError('P2034', 'Transaction failed due to a write conflict or a deadlock'),
      ),
    ).toBe(true);
    expect(isTransactionConflict(pgError('40001', 'could not serialize access'))).toBe(true);
    expect(isTransactionConflict(pgError('23505', 'duplicate key'))).toBe(false);
    expect(isTransactionConflict(new Error('deadlock'))).toBe(false);
  });
});
