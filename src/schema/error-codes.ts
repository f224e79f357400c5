// The `ErrorCode` enum: every `extensions.code` the server sends, from `ERROR_CODES` (src/errors.ts).
// No field returns it; it is in the schema so that clients and codegen know the codes.
import { ERROR_CODES } from '../errors';
import { builder } from './builder';

builder.enumType('ErrorCode', {
  description:
    'Every value of `extensions.code` in an error of this API. The HTTP status of each is in the README.',
  values: Object.fromEntries(
    Object.entries(ERROR_CODES).map(([code, { status, description }]) => [
      code,
      { description: `${description} (HTTP ${status})` },
    ]),
  ),
});
