import { GraphQLError } from 'graphql';

/** Every error a client sees carries one of these in `extensions.code`. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'RATE_LIMITED'
  | 'QUERY_TOO_COMPLEX'
  | 'QUOTA_EXCEEDED'
  | 'INSTANCE_LIMIT_EXCEEDED'
  | 'PERSISTED_QUERY_NOT_FOUND'
  | 'PERSISTED_QUERY_ONLY'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

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
