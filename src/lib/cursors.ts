// Keyset pagination: opaque cursors holding [sort value, id], and the page of a list read with one
// row more than asked (which says whether there is a next page).
import { isUuid } from './ids';

const SORT_VALUE = {
  time: (v: unknown) => typeof v === 'string' && !Number.isNaN(Date.parse(v)),
  int: (v: unknown) => Number.isInteger(v),
  decimal: (v: unknown) => typeof v === 'string' && /^\d{1,20}(\.\d{1,18})?$/.test(v),
};

export type SortValueKind = keyof typeof SORT_VALUE;

export const encodeCursor = (value: unknown, id: string) => Buffer.from(JSON.stringify([value, id])).toString('base64url');

/**
 * A cursor's [sort value, id], or null when it is not one of ours for this kind of sort value
 * (a forged cursor must be a client error, not a database error).
 */
export function decodeCursor(cursor: string, kind: SortValueKind): [unknown, string] | null {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    if (!Array.isArray(parts) || parts.length !== 2) return null;
    const [value, id] = parts;
    return isUuid(id) && SORT_VALUE[kind](value) ? [value, id] : null;
  } catch {
    return null;
  }
}

/** A Relay connection page from `rows` read with limit + 1. */
export function keysetPage<R>(rows: R[], limit: number, afterCursor: boolean, cursorOf: (row: R) => string) {
  const page = rows.slice(0, limit);
  return {
    edges: page.map((node) => ({ node, cursor: cursorOf(node) })),
    pageInfo: {
      hasNextPage: rows.length > limit,
      hasPreviousPage: afterCursor,
      startCursor: page.length ? cursorOf(page[0]) : null,
      endCursor: page.length ? cursorOf(page[page.length - 1]) : null,
    },
  };
}
