import { GraphQLError } from 'graphql';
import { handleStreamOrSingleExecutionResult } from '@envelop/core';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context';
import type { Logger } from 'pino';
import { appError, isAppError, serviceUnavailable } from '../errors';
import {
  isDatabaseUnavailable,
  isRejectedData,
  isTransactionConflict,
  REJECTED_DATA_MESSAGE,
  TRANSACTION_CONFLICT_MESSAGE,
} from '../storage/db-errors';

export const DATABASE_UNAVAILABLE_MESSAGE =
  'The database cannot be reached right now; try again shortly.';

const withCode = (error: GraphQLError, code: string) =>
  new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code },
  });

type ParseDone = ReturnType<NonNullable<Plugin['onParse']>>;
type ValidateDone = ReturnType<NonNullable<Plugin['onValidate']>>;

// Made once: a hook's done-callback made per request is one more closure for every request.
const parseDone: ParseDone = ({ result, replaceParseResult }) => {
  if (result instanceof GraphQLError && !result.extensions.code)
    replaceParseResult(withCode(result, 'GRAPHQL_PARSE_FAILED'));
};
const validateDone: ValidateDone = ({ result, setResult }) => {
  if (result.length && result.some((e) => !e.extensions.code))
    setResult(
      result.map((e) => (e.extensions.code ? e : withCode(e, 'GRAPHQL_VALIDATION_FAILED'))),
    );
};

/** GraphQL's own parse and validation errors get the codes clients know from Apollo. */
export function useErrorCodes(): Plugin {
  return { onParse: () => parseDone, onValidate: () => validateDone };
}

/** An error the caller caused (or one of ours with its code), as opposed to an unexpected one. */
export function isExpectedError(error: unknown): boolean {
  if (isAppError(error)) return error.extensions.code !== 'INTERNAL_SERVER_ERROR';
  if (!(error instanceof GraphQLError)) return false;
  const original = error.originalError;
  // Pothos reports malformed global ids and arguments with this class.
  return !original || original instanceof GraphQLError || original.name === 'PothosValidationError';
}

/**
 * Yoga's maskError: errors we meant (with a code) pass; the database being unreachable becomes
 * SERVICE_UNAVAILABLE (503, Retry-After); GraphQL's input coercion errors become BAD_USER_INPUT;
 * anything else is logged with the request id and masked.
 */
/** `coded` at the place of `error`: a field's error keeps its path and nodes. */
const withOrigin = (error: unknown, coded: GraphQLError) =>
  error instanceof GraphQLError
    ? new GraphQLError(coded.message, {
        nodes: error.nodes,
        path: error.path,
        extensions: coded.extensions,
      })
    : coded;

export function createMaskError(log: Logger) {
  return (error: unknown, requestId?: string): Error => {
    if (isAppError(error)) return error;
    // Not a bug: the outage itself is logged once by the database layer, not per request.
    if (isDatabaseUnavailable(error)) {
      log.debug(
        { err: error instanceof GraphQLError ? (error.originalError ?? error) : error, requestId },
        'database unavailable',
      );
      return withOrigin(error, serviceUnavailable(DATABASE_UNAVAILABLE_MESSAGE));
    }
    // Rolled back for another transaction's sake: nothing is wrong with the request, or with us.
    if (isTransactionConflict(error)) {
      log.info(
        { err: error instanceof GraphQLError ? (error.originalError ?? error) : error, requestId },
        'transaction conflict',
      );
      return withOrigin(
        error,
        appError('TRANSACTION_CONFLICT', TRANSACTION_CONFLICT_MESSAGE, {
          status: 409,
          headers: { 'Retry-After': '1' },
        }),
      );
    }
    // A value the database refused (U+0000 in a text, a total out of range): the caller's to fix.
    if (isRejectedData(error)) {
      // Logged too: a data exception can also be our own SQL's (a sum out of range), not the caller's.
      log.warn(
        { err: error instanceof GraphQLError ? (error.originalError ?? error) : error, requestId },
        'the database refused a value',
      );
      return withOrigin(error, appError('BAD_USER_INPUT', REJECTED_DATA_MESSAGE));
    }
    if (error instanceof GraphQLError && isExpectedError(error)) {
      const original = error.originalError;
      if (!original || original instanceof GraphQLError) return withCode(error, 'BAD_USER_INPUT');
      return withCode(
        new GraphQLError(original.message, { nodes: error.nodes, path: error.path }),
        'BAD_USER_INPUT',
      );
    }
    log.error(
      { err: error instanceof GraphQLError ? (error.originalError ?? error) : error, requestId },
      'internal error',
    );
    return appError(
      'INTERNAL_SERVER_ERROR',
      `Internal server error${requestId ? ` (request id ${requestId})` : ''}.`,
      {
        extensions: requestId ? { requestId } : {},
      },
    );
  };
}

/** Masks execution errors with the request id in hand (Yoga's own masking, which has no
 * context, remains the net for errors outside execution). */
export function useErrorMasking(log: Logger): Plugin<Context> {
  const mask = createMaskError(log);
  return {
    onExecute: ({ args }) => ({
      onExecuteDone: (payload) =>
        handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => {
          if (!result.errors?.length) return;
          setResult({
            ...result,
            errors: result.errors.map((e) => mask(e, args.contextValue.requestId) as GraphQLError),
          });
        }),
    }),
  };
}
