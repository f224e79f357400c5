// Keyset pagination: opaque cursors holding [sort value, id], and the page of a list read with one
// row more than asked (which says whether there is a next page).
import { isUuid } from './ids';

// Exactly what we encode (a Date's JSON, an int column): a value the database would refuse to
// compare ("1", "March 7", year 0, 2^40) is not a cursor of ours.
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const SORT_VALUE = {
  time: (v: unknown) =>
    typeof v === 'string' &&
    ISO_TIME.test(v) &&
    !v.startsWith('0000') &&
    !Number.isNaN(Date.parse(v)) &&
    new Date(v).toISOString() === v,
  int: (v: unknown) => Number.isInteger(v) && Math.abs(v as number) <= 2_147_483_647,
  // -1 stands for a null cost, sorted last in descending order.
  decimal: (v: unknown) => typeof v === 'string' && /^-?\d{1,20}(\.\d{1,18})?$/.test(v),
};

export type SortValueKind = keyof typeof SORT_VALUE;

export const encodeCursor = (value: unknown, id: string) =>
  Buffer.from(JSON.stringify([value, id])).toString('base64url');

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

/** An edge whose cursor is encoded only when the operation selects it. */
class Edge<R> {
  constructor(
    readonly node: R,
    private readonly cursorOf: (row: R) => string,
  ) {}
  get cursor() {
    return this.cursorOf(this.node);
  }
}

/** A Relay connection page from `rows` read with limit + 1; cursors are encoded on demand. */
export function keysetPage<R>(
  rows: R[],
  limit: number,
  afterCursor: boolean,
  cursorOf: (row: R) => string,
) {
  const page = rows.length > limit ? rows.slice(0, limit) : rows;
  return {
    edges: page.map((node) => new Edge(node, cursorOf)),
    pageInfo: {
      hasNextPage: rows.length > limit,
      hasPreviousPage: afterCursor,
      get startCursor() {
        return page.length ? cursorOf(page[0]) : null;
      },
      get endCursor() {
        return page.length ? cursorOf(page[page.length - 1]) : null;
      },
    },
  };
}
