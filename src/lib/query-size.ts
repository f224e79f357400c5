// Query texts are bounded in UTF-8 bytes before anything parses or hashes them. A text's UTF-16
// length bounds its UTF-8 size from below (each unit is at least one byte) and from above (at most
// three), so most texts are judged without being scanned.
import { appError } from '../errors';

/** Whether `text` is longer than `max` bytes in UTF-8. */
export function exceedsBytes(text: string, max: number): boolean {
  if (text.length > max) return true;
  if (text.length * 3 <= max) return false;
  return Buffer.byteLength(text, 'utf8') > max;
}

/** 413 with BAD_USER_INPUT (as for a body over EVALGRAPH_MAX_BODY_BYTES), and the limit. */
export const queryTooLarge = (max: number, what = 'The query text') =>
  appError('BAD_USER_INPUT', `${what} is larger than ${max} bytes, the limit of this server.`, {
    status: 413,
    extensions: { path: ['query'], limit: max },
  });

/** Throws queryTooLarge when `query` is a string longer than `max` UTF-8 bytes (other values are Yoga's to refuse). */
export function checkQuerySize(query: unknown, max: number, what?: string): void {
  if (typeof query === 'string' && exceedsBytes(query, max)) throw queryTooLarge(max, what);
}
