import { GraphQLError } from 'graphql';

/**
 * Every `extensions.code` the server can send: the one list. The `ErrorCode` enum of the schema
 * and the README's table are made from it, and `test/error-codes.test.ts` fails when the code
 * (or a library the server runs) can send one missing here. `status`: the HTTP status of a POST
 * (Accept: application/json) whose answer is this error alone; a field's error beside other data
 * comes in a 200.
 */
export const ERROR_CODES = {
  UNAUTHENTICATED: {
    status: 401,
    description:
      'No API key, or one that is unknown or revoked: send "Authorization: Bearer <api key>".',
  },
  FORBIDDEN: {
    status: 200,
    description:
      "The caller may see this but not do this: the key's role (or a FEEDBACK key's few fields) does not allow it.",
  },
  NOT_FOUND: {
    status: 200,
    description:
      'No such object, or one in a project the caller cannot see: the two answers are the same. `extensions.path` names the input.',
  },
  BAD_USER_INPUT: {
    status: 200,
    description:
      'An argument, variable or value is invalid (`extensions.path` names it); also abuse limits (depth, aliases, tokens, directives). 413 when the body or query is over the size limit.',
  },
  RATE_LIMITED: {
    status: 429,
    description:
      'The rate-limit bucket is empty: wait `extensions.retryAfter` seconds (also `Retry-After`).',
  },
  QUERY_TOO_COMPLEX: {
    status: 200,
    description:
      'The operation (or each event of a subscription) would cost more points than one request may: ask for fewer items or fields.',
  },
  QUOTA_EXCEEDED: {
    status: 429,
    description:
      "A daily or per-minute quota or a project's limit is spent (evaluations, judge tokens or cost, rules, persisted operations); a minute window says when it frees in `Retry-After`.",
  },
  INSTANCE_LIMIT_EXCEEDED: {
    status: 429,
    description:
      'A limit of the whole instance (EVALGRAPH_GLOBAL_LIMITS, every user together) is reached; `extensions.limit` names it: `requestsPerHour` and `judgeCostPerDayUsd` answer 429, `concurrent` 503. Wait `Retry-After` seconds.',
  },
  PERSISTED_QUERY_NOT_FOUND: {
    status: 200,
    description:
      'The hash names no stored operation (APQ): send the query text with its hash once, then the hash alone.',
  },
  PERSISTED_QUERY_ONLY: {
    status: 403,
    description:
      'This key may run trusted documents only: send the hash of one (documentId or extensions.persistedQuery).',
  },
  SERVICE_UNAVAILABLE: {
    status: 503,
    description:
      'The database or Redis cannot be reached right now: try again after `Retry-After` seconds.',
  },
  TRANSACTION_CONFLICT: {
    status: 409,
    description:
      'Another operation wrote the same rows at the same moment (a deadlock or serialization failure) and this one was rolled back: send it again after `Retry-After` seconds.',
  },
  INTERNAL_SERVER_ERROR: {
    status: 500,
    description:
      'An unexpected error, logged with the request id (`X-Request-Id`); its details are not shown.',
  },
  GRAPHQL_PARSE_FAILED: {
    status: 200,
    description:
      'The document is not valid GraphQL syntax (400 when the request accepts application/graphql-response+json).',
  },
  GRAPHQL_VALIDATION_FAILED: {
    status: 200,
    description:
      'The document does not fit the schema (an unknown field, a missing argument, introspection when it is off); 400 when the request accepts application/graphql-response+json.',
  },
  BAD_REQUEST: {
    status: 400,
    description:
      'Not a GraphQL request (GraphQL Yoga): malformed JSON, no query, a wrong method or content type, too many operations in a batch.',
  },
  OPERATION_RESOLUTION_FAILURE: {
    status: 400,
    description:
      'The document has several operations and `operationName` names none of them (GraphQL Yoga, on GET).',
  },
  REQUEST_ENTITY_TOO_LARGE: {
    status: 413,
    description:
      "The body is over GraphQL Yoga's own size limit (EVALGRAPH_MAX_BODY_BYTES is checked before it, as BAD_USER_INPUT).",
  },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The README's table of error codes (between its `error-codes` markers; `npm run docs:errors` writes it). */
export function errorCodeTable(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, { status, description }]) => `| \`${code}\` | ${status} | ${description} |`,
  );
  return ['| code | HTTP status | meaning |', '|---|---|---|', ...rows].join('\n');
}

interface ErrorOptions {
  /** Set for policy errors that decide the whole response (401, 403, 413, 429, 503). */
  status?: number;
  headers?: Record<string, string>;
  extensions?: Record<string, unknown>;
}

export function appError(
  code: ErrorCode,
  message: string,
  options: ErrorOptions = {},
): GraphQLError {
  const http = options.status ? { http: { status: options.status, headers: options.headers } } : {};
  return new GraphQLError(message, { extensions: { code, ...options.extensions, ...http } });
}

export const unauthenticated = (
  message = 'Authentication required: send "Authorization: Bearer <api key>".',
) =>
  appError('UNAUTHENTICATED', message, { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } });

export const forbidden = (message = 'Your role does not allow this.') =>
  appError('FORBIDDEN', message);

/** Also for what exists but the caller may not see: the two answers must not differ. `path`: the input that named it. */
export const notFound = (what: string, path: (string | number)[] = []) =>
  appError('NOT_FOUND', `${what} was not found.`, {
    extensions: { path: path.length ? path : undefined },
  });

/** The row, or NOT_FOUND: a field by id answers a missing id as it answers one the caller may not see. */
export const found =
  (what: string) =>
  <T>(row: T | null): T => {
    if (row === null) throw notFound(what);
    return row;
  };

/** `path` names the offending input, e.g. ["input", "spans", 3, "endTime"]. */
export const badInput = (message: string, path: (string | number)[] = []) =>
  appError('BAD_USER_INPUT', message, { extensions: { path: path.length ? path : undefined } });

/** A dependency (the database) cannot be reached: try again after `retryAfterSeconds`. */
export const serviceUnavailable = (message: string, retryAfterSeconds = 5) =>
  appError('SERVICE_UNAVAILABLE', message, {
    status: 503,
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });

/** Which limit of the whole instance (EVALGRAPH_GLOBAL_LIMITS) refused. */
export type InstanceLimit = 'concurrent' | 'requestsPerHour' | 'judgeCostPerDayUsd';

/**
 * A limit shared by every user of the instance is reached: 503 for requests in flight (a moment's
 * wait), 429 for the hour's requests and the day's judge spending.
 */
export const instanceLimitExceeded = (
  limit: InstanceLimit,
  message: string,
  retryAfterSeconds: number,
) =>
  appError('INSTANCE_LIMIT_EXCEEDED', message, {
    status: limit === 'concurrent' ? 503 : 429,
    headers: { 'Retry-After': String(retryAfterSeconds) },
    extensions: { limit, retryAfter: retryAfterSeconds },
  });

export function isAppError(error: unknown): error is GraphQLError {
  return error instanceof GraphQLError && typeof error.extensions?.code === 'string';
}
