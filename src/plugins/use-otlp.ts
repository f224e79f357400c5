// OTLP/HTTP trace ingest at POST /v1/traces (JSON or protobuf, optionally gzip), with the same API
// keys and the same ingest path as the ingestSpans mutation. It bounds its own body (exporters
// stream it chunked), so it must come before useRequestLimits.
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { isUuid, uuidOfGlobalId } from '../lib/ids';
import { authenticateHeader } from '../modules/auth/authenticate';
import { authorize } from '../modules/auth/access';
import type { Principal } from '../modules/auth/permissions';
import { floor } from '../modules/ratelimit/field-cost';
import { otlpToSpans } from '../modules/traces/otlp';
import { ingestCost } from '../modules/traces/span-input';
import { decodeOtlpProtobuf, encodeOtlpProtobuf } from '../modules/traces/otlp-proto';
import type { Services } from '../services';
import { requestIdOf } from './use-request-id';
import { createMaskError } from './use-error-codes';
import { answering } from './on-request';

const gunzipAsync = promisify(gunzip);

export interface OtlpOptions {
  services: Services;
  /** The client's address of a request (lib/client-address.ts), for keys' allowlists. */
  addressOf(request: Request): string | undefined;
  /** Where unexpected errors are logged (they are answered masked). */
  log: Logger;
  /** Largest body, after decompression. @default 10 MiB */
  maxBodyBytes?: number;
  /** Spans in one request. @default 1000 */
  maxSpans?: number;
  /** @default '/v1/traces' */
  path?: string;
  /** Charges a request to the key's rate-limit buckets (use-rate-limit.ts), as ingestSpans is charged. */
  chargeRequest(principal: Principal, cost: number): Promise<Record<string, string>>;
}

class OtlpError extends Error {
  constructor(
    public readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The project a request writes to: the key's own, else the header or resource attribute. Never
 * guessed from the user's memberships: another project's admin adding the user would change
 * where (or whether) their spans go.
 */
function pickProject(principal: Principal, header: string | null, hint: string | null): string {
  const named = header ?? hint;
  if (named) {
    const projectId = isUuid(named) ? named : uuidOfGlobalId(named, 'Project');
    if (!projectId) throw new OtlpError(400, 'x-evalgraph-project must be a project id.');
    // Another project than the key's own is one it cannot see (authorize answers it 404).
    return projectId;
  }
  if (principal.keyProjectId) return principal.keyProjectId;
  throw new OtlpError(
    400,
    'Say which project to write to: send the x-evalgraph-project header or the evalgraph.project.id resource attribute, or use a key bound to a project.',
  );
}

// The status of an error of ours with a code but no status of its own.
const STATUS_OF: Record<string, number> = {
  NOT_FOUND: 404,
  FORBIDDEN: 403,
  UNAUTHENTICATED: 401,
  INTERNAL_SERVER_ERROR: 500,
};

/**
 * The body, refusing more than `max` bytes while reading: OpenTelemetry exporters send chunked
 * bodies without a Content-Length, so the length cannot be checked up front.
 */
async function readBounded(request: Request, max: number): Promise<Buffer> {
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > max) throw new OtlpError(413, `The request body is larger than ${max} bytes.`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body?.getReader();
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      // Not awaited: the answer must not wait for the rest of an oversized upload.
      reader.cancel().catch(() => {});
      throw new OtlpError(413, `The request body is larger than ${max} bytes.`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

const contentType = (request: Request) =>
  (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();

/** An OTLP/HTTP answer, in the request's encoding (protobuf or JSON) as the protocol requires. */
export function otlpResponse(
  fetchAPI: { Response: typeof Response },
  request: Request,
  status: number,
  body: object,
  headers: Record<string, string> = {},
): Response {
  return contentType(request) === 'application/x-protobuf'
    ? new fetchAPI.Response(Buffer.from(encodeOtlpProtobuf(status, body)), {
        status,
        headers: { 'content-type': 'application/x-protobuf', ...headers },
      })
    : new fetchAPI.Response(JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json', ...headers },
      });
}

// google.rpc.Code of an HTTP status (INVALID_ARGUMENT for the rest). Exporters retry 429 and 503 after their Retry-After.
const RPC_CODE: Record<number, number> = { 401: 16, 403: 7, 429: 8, 503: 14 };

/** An OTLP error: a google.rpc.Status { code, message }. */
export const otlpError = (
  fetchAPI: { Response: typeof Response },
  request: Request,
  status: number,
  message: string,
  headers?: Record<string, string>,
) => otlpResponse(fetchAPI, request, status, { code: RPC_CODE[status] ?? 3, message }, headers);

export function useOtlp({
  services,
  addressOf,
  log,
  maxBodyBytes = 10 * 1024 * 1024,
  maxSpans = 1000,
  path = '/v1/traces',
  chargeRequest,
}: OtlpOptions): Plugin {
  const mask = createMaskError(log);
  return {
    onRequest: answering(
      ({ url }) => url.pathname === path,
      async ({ request, fetchAPI, endResponse }) => {
        const type = contentType(request);
        const protobufBody = type === 'application/x-protobuf';
        const reply = (status: number, body: object, headers: Record<string, string> = {}) =>
          endResponse(otlpResponse(fetchAPI, request, status, body, headers));
        const fail = (status: number, message: string, headers?: Record<string, string>) =>
          endResponse(otlpError(fetchAPI, request, status, message, headers));
        // The key's bucket once charged: its X-RateLimit-* headers go with the answer, whatever it is.
        let rateLimit: Record<string, string> = {};
        try {
          if (request.method !== 'POST') return fail(405, 'Use POST.', { allow: 'POST' });
          if (type !== 'application/json' && !protobufBody)
            return fail(
              415,
              'Send OTLP JSON (Content-Type: application/json) or protobuf (application/x-protobuf).',
            );
          const principal = await authenticateHeader(
            services.auth,
            request.headers.get('authorization'),
            addressOf(request),
          );
          if (!principal)
            return fail(401, 'Authentication required: send "Authorization: Bearer <api key>".', {
              'www-authenticate': 'Bearer',
            });

          let bytes = await readBounded(request, maxBodyBytes);
          const encoding = (request.headers.get('content-encoding') ?? 'identity').toLowerCase();
          if (encoding === 'gzip') {
            bytes = await gunzipAsync(bytes, { maxOutputLength: maxBodyBytes }).catch(() => {
              throw new OtlpError(
                400,
                `The gzip body is corrupt or inflates past ${maxBodyBytes} bytes.`,
              );
            });
          } else if (encoding !== 'identity')
            return fail(415, `Content-Encoding ${encoding} is not supported (use gzip or none).`);

          let body: unknown;
          try {
            body = protobufBody ? decodeOtlpProtobuf(bytes) : JSON.parse(bytes.toString('utf8'));
          } catch {
            return fail(
              400,
              protobufBody
                ? 'The body is not an OTLP ExportTraceServiceRequest in protobuf.'
                : 'The body is not valid JSON.',
            );
          }
          let mapped: ReturnType<typeof otlpToSpans>;
          try {
            mapped = otlpToSpans(body, { maxSpans });
          } catch (error) {
            return fail(400, (error as Error).message);
          }
          const projectId = pickProject(
            principal,
            request.headers.get('x-evalgraph-project'),
            mapped.projectHint,
          );
          // What ingestSpans would cost with these spans (a mutation's floor included), charged
          // before the access check as ingestSpans is: the same buckets, whichever way spans
          // arrive, and spans the mapping refused count as ingestSpans counts every span it is sent.
          rateLimit = await chargeRequest(
            principal,
            floor({ rootMutation: true }, ingestCost(mapped.spans.length + mapped.rejected.length)),
          );
          // The one access check, as over GraphQL: NOT_FOUND (404) for a project the key cannot see or that does not exist.
          await authorize({ principal, touchedProjects: new Set(), services }, projectId, 'write');
          const result = await services.traces.ingest(projectId, mapped.spans, {
            partial: true,
            source: 'otlp',
          });
          if (result.rejectedCount < mapped.spans.length)
            await services.cache.invalidateProjects([projectId]);
          const problems = [
            ...mapped.rejected.map((r) => r.message),
            ...result.problems.map(
              (p) => `span ${mapped.spans[p.index]?.spanId ?? p.index}: ${p.field} ${p.message}`,
            ),
          ];
          const rejected = mapped.rejected.length + result.rejectedCount;
          return reply(
            200,
            rejected
              ? {
                  partialSuccess: {
                    rejectedSpans: rejected,
                    errorMessage: problems.slice(0, 20).join('; '),
                  },
                }
              : {},
            rateLimit,
          );
        } catch (error) {
          if (error instanceof OtlpError) return fail(error.status, error.message, rateLimit);
          // As over GraphQL: coded errors pass, the database down is 503, a refused value 400, and
          // anything else is logged with the request id and masked (Yoga's fallback would send the stack).
          const masked = mask(error, requestIdOf(request)) as GraphQLError;
          const http = masked.extensions.http as
            | { status?: number; headers?: Record<string, string> }
            | undefined;
          return fail(
            http?.status ?? STATUS_OF[String(masked.extensions.code)] ?? 400,
            masked.message,
            { ...rateLimit, ...http?.headers },
          );
        }
      },
    ),
  };
}
