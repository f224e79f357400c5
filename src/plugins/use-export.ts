// Data export: GET /v1/export/{traces,spans,scores}?projectId=… and
// /v1/export/evaluations/<id>/results, as JSON Lines or CSV, with the same keys and project rights
// as the API (read; cost columns only with the costs right, else left out). Streamed one keyset
// page at a time (export-sql.ts), each page written when the client has taken the last one, so
// memory stays flat whatever the size; paced by the bytes it sends per user (a token bucket of
// bytes in the rate-limit store: shared with Redis). The stream ends with a cursor line.
import { setTimeout as sleep } from 'node:timers/promises';
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { badInput, notFound, unauthenticated } from '../errors';
import { decodeCursor, encodeCursor } from '../lib/cursors';
import { isUuid, uuidOfGlobalId } from '../lib/ids';
import { authorize, authorizeRow, allows } from '../modules/auth/access';
import { authenticateHeader } from '../modules/auth/authenticate';
import { ownerOf } from '../modules/auth/owner-sql';
import type { Principal } from '../modules/auth/permissions';
import {
  COST_COLUMNS,
  type ExportKind,
  exportColumns,
  exportPage,
  timeFieldOf,
} from '../modules/export/export-sql';
import {
  CONTENT_TYPE,
  type ExportFormat,
  encodeRows,
  failureOf,
  headerOf,
  trailerOf,
} from '../modules/export/format';
import { type BucketStore, withFallback } from '../modules/ratelimit/bucket';
import type { Services } from '../services';
import type { Sql } from '../storage/db';
import { createMaskError } from './use-error-codes';
import { answering } from './on-request';
import { requestIdOf } from './use-request-id';

export interface ExportOptions {
  services: Services;
  sql: Sql;
  buckets: BucketStore;
  addressOf(request: Request): string | undefined;
  log: Logger;
  /** Bytes a second each user may be sent (0: unpaced). */
  bytesPerSecond: number;
  /** Rows per statement. @default 1000 */
  pageSize?: number;
}

const PREFIX = '/v1/export/';
const KIND_PATH = /^\/v1\/export\/(?:(traces|spans|scores)|evaluations\/([^/]+)\/results)$/;
const PARAMS = new Set(['projectId', 'from', 'to', 'format', 'cursor', 'limit']);
// ISO 8601 date-times with a zone (or a date alone, UTC midnight): what `DateTime` accepts.
const ISO = /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d))?$/;

// The HTTP status of our codes (the GraphQL table answers a field's NOT_FOUND in a 200).
const STATUS_OF: Record<string, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
};

interface Query {
  kind: ExportKind;
  projectId: string | null;
  evaluationId: string | null;
  from: Date | null;
  to: Date | null;
  format: ExportFormat;
  after: [unknown, string] | null;
  limit: number | null;
}

function timeParam(value: string | null, name: string): Date | null {
  if (value === null) return null;
  const at = new Date(value);
  if (!ISO.test(value) || Number.isNaN(at.getTime()))
    throw badInput(`${name} must be an ISO 8601 date-time, e.g. 2026-01-31T00:00:00Z.`, [name]);
  return at;
}

/** The request's parameters, each checked (BAD_USER_INPUT naming it). */
function parseQuery(url: URL, match: RegExpExecArray): Query {
  const q = url.searchParams;
  for (const name of q.keys())
    if (!PARAMS.has(name)) throw badInput(`Unknown parameter ${name}.`, [name]);
  for (const name of PARAMS)
    if (q.getAll(name).length > 1) throw badInput(`${name} is given twice.`, [name]);
  const kind = (match[1] ?? 'results') as ExportKind;
  const rawProject = q.get('projectId');
  let projectId: string | null = null;
  if (rawProject !== null) {
    projectId = isUuid(rawProject) ? rawProject : uuidOfGlobalId(rawProject, 'Project');
    if (!projectId) throw badInput('projectId must be a project id.', ['projectId']);
  } else if (kind !== 'results') throw badInput('projectId is required.', ['projectId']);
  // A malformed evaluation id names no evaluation: NOT_FOUND, as a foreign one.
  const rawEvaluation = match[2] ? decodeURIComponent(match[2]) : null;
  const evaluationId =
    rawEvaluation === null
      ? null
      : isUuid(rawEvaluation)
        ? rawEvaluation
        : uuidOfGlobalId(rawEvaluation, 'Evaluation');
  if (rawEvaluation !== null && !evaluationId) throw notFound('Evaluation');
  const from = timeParam(q.get('from'), 'from');
  const to = timeParam(q.get('to'), 'to');
  if (from && to && from >= to) throw badInput('from must be before to.', ['from']);
  const format = q.get('format') ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv')
    throw badInput('format must be jsonl or csv.', ['format']);
  const cursor = q.get('cursor');
  const after = cursor === null ? null : decodeCursor(cursor, 'time');
  if (cursor !== null && !after) throw badInput('cursor is not one this export gave.', ['cursor']);
  const rawLimit = q.get('limit');
  const limit = rawLimit === null ? null : Number(rawLimit);
  if (limit !== null && (!/^\d{1,9}$/.test(rawLimit!) || limit < 1))
    throw badInput('limit must be a whole number of rows from 1.', ['limit']);
  return { kind, projectId, evaluationId, from, to, format, after, limit };
}

export function useExport({
  services,
  sql,
  buckets,
  addressOf,
  log,
  bytesPerSecond,
  pageSize = 1000,
}: ExportOptions): Plugin {
  const mask = createMaskError(log);
  const bucket = withFallback(buckets, (error) =>
    log.warn({ err: error }, 'rate-limit store failed; pacing exports in process'),
  );
  const limits = { capacity: bytesPerSecond, restoreRate: bytesPerSecond };

  /** Takes `bytes` from the user's bucket, then waits until it is no longer in debt. */
  async function pace(userId: string, bytes: number, signal: AbortSignal) {
    if (!bytesPerSecond) return;
    const { value } = await bucket((s) => s.charge(`export:${userId}`, limits, bytes));
    if (value.available < 0)
      await sleep(Math.ceil((-value.available / bytesPerSecond) * 1000), undefined, { signal });
  }

  /** The rows of `query` as a stream of text: a page per pull, then the cursor line. */
  function stream(
    principal: Principal,
    query: Query,
    ownerId: string,
    columns: string[],
    signal: AbortSignal,
  ) {
    const encoder = new TextEncoder();
    const timeField = timeFieldOf(query.kind);
    let after = query.after;
    let left = query.limit ?? Number.POSITIVE_INFINITY;
    let started = false;
    let done = false;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        // The client left (Yoga aborts the request's signal when its response closes).
        if (done || signal.aborted) return controller.close();
        let text = started ? '' : headerOf(query.format, columns);
        started = true;
        try {
          const want = Math.min(pageSize, left);
          // One row more than the rest of a limit says whether rows are left after it.
          const rows = await exportPage(sql, {
            kind: query.kind,
            ownerId,
            columns,
            from: query.from,
            to: query.to,
            after,
            limit: left <= pageSize ? want + 1 : want,
          });
          const page = rows.slice(0, want);
          text += encodeRows(query.format, columns, page);
          left -= page.length;
          const last = page.at(-1);
          if (last) after = [(last[timeField] as Date).toISOString(), last.id as string];
          if (rows.length < want || rows.length > want || left === 0) {
            done = true;
            const cursor = after && encodeCursor(after[0], after[1]);
            text += trailerOf(query.format, cursor, rows.length > want);
          }
        } catch (error) {
          // The status is sent: the failure is the last line, in place of the cursor.
          const masked = mask(error, undefined) as GraphQLError;
          done = true;
          text += failureOf(query.format, masked.message, String(masked.extensions.code));
        }
        const bytes = encoder.encode(text);
        try {
          await pace(principal.userId, bytes.byteLength, signal);
        } catch {
          controller.close();
          return;
        }
        controller.enqueue(bytes);
        if (done) controller.close();
      },
    });
  }

  return {
    onRequest: answering(
      ({ url }) => url.pathname.startsWith(PREFIX),
      async ({ request, url, fetchAPI, endResponse }) => {
        const json = (status: number, body: object, headers: Record<string, string> = {}) =>
          endResponse(
            new fetchAPI.Response(JSON.stringify(body), {
              status,
              headers: { 'content-type': 'application/json', ...headers },
            }),
          );
        const fail = (
          status: number,
          message: string,
          code: string,
          headers?: Record<string, string>,
        ) => json(status, { errors: [{ message, extensions: { code } }] }, headers);
        try {
          const match = KIND_PATH.exec(url.pathname);
          if (!match) return fail(404, 'No such export.', 'NOT_FOUND');
          if (request.method !== 'GET')
            return fail(405, 'Use GET.', 'BAD_REQUEST', { allow: 'GET' });
          const principal = await authenticateHeader(
            services.auth,
            request.headers.get('authorization'),
            addressOf(request),
          );
          if (!principal) throw unauthenticated();
          const query = parseQuery(url, match);
          const ctx = { principal, touchedProjects: new Set<string>(), services };
          let projectId = query.projectId;
          if (query.evaluationId) {
            const owner = await ownerOf(sql, 'Evaluation', query.evaluationId);
            // Another project's evaluation, or one outside the projectId named: not there for the caller.
            const row = owner && (!projectId || owner === projectId) ? { projectId: owner } : null;
            projectId = (await authorizeRow(ctx, row, 'read', 'Evaluation')).projectId;
          } else await authorize(ctx, projectId!, 'read');
          const costs = allows(ctx, projectId!, 'costs');
          const columns = exportColumns(query.kind, costs);
          const omitted = exportColumns(query.kind, true).filter(
            (c) => COST_COLUMNS.has(c) && !columns.includes(c),
          );
          return endResponse(
            new fetchAPI.Response(
              stream(principal, query, query.evaluationId ?? projectId!, columns, request.signal),
              {
                status: 200,
                headers: {
                  'content-type': CONTENT_TYPE[query.format],
                  'cache-control': 'no-store',
                  ...(omitted.length ? { 'x-evalgraph-omitted-columns': omitted.join(',') } : {}),
                },
              },
            ),
          );
        } catch (error) {
          const masked = mask(error, requestIdOf(request)) as GraphQLError;
          const code = String(masked.extensions.code);
          const http = masked.extensions.http as
            | { status?: number; headers?: Record<string, string> }
            | undefined;
          return fail(http?.status ?? STATUS_OF[code] ?? 500, masked.message, code, http?.headers);
        }
      },
    ),
  };
}
