// How exported rows are written: JSON Lines (one object a line) or CSV (RFC 4180: a header line,
// fields quoted when they hold a comma, quote or line break; nested values as JSON text). Each
// stream ends with a line holding the cursor to resume after its last row, which a plain client
// reads as the last line: `{"cursor":"…","hasMore":false}` or `# cursor=… hasMore=false`.

export type ExportFormat = 'jsonl' | 'csv';

export const CONTENT_TYPE: Record<ExportFormat, string> = {
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
};

// A text cell a spreadsheet would run as a formula (=, +, -, @, or a tab or carriage return
// first): prompts and outputs are written by end users, so such a cell gets a leading ' (OWASP's
// advice for CSV exports). Numbers, dates and JSON are written as they are.
const FORMULA = /^[=+\-@\t\r]/;

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text =
    value instanceof Date
      ? value.toISOString()
      : typeof value === 'object'
        ? JSON.stringify(value)
        : typeof value === 'string' && FORMULA.test(value)
          ? `'${value}`
          : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The header, before the first row (CSV only). */
export const headerOf = (format: ExportFormat, columns: string[]) =>
  format === 'csv' ? `${columns.map(csvField).join(',')}\r\n` : '';

/** Rows as text, `columns` in order. */
export function encodeRows(
  format: ExportFormat,
  columns: string[],
  rows: Record<string, unknown>[],
): string {
  let out = '';
  for (const row of rows) {
    if (format === 'jsonl') {
      const object: Record<string, unknown> = {};
      for (const c of columns) object[c] = row[c] ?? null;
      out += `${JSON.stringify(object)}\n`;
    } else out += `${columns.map((c) => csvField(row[c])).join(',')}\r\n`;
  }
  return out;
}

/** The last line: where to resume (null: nothing sent yet and no cursor given), and whether rows are left. */
export function trailerOf(format: ExportFormat, cursor: string | null, hasMore: boolean): string {
  return format === 'jsonl'
    ? `${JSON.stringify({ cursor, hasMore })}\n`
    : `# cursor=${cursor ?? ''} hasMore=${hasMore}\r\n`;
}

/** The last line of a stream that failed after it began (its status is already sent). */
export function failureOf(format: ExportFormat, message: string, code: string): string {
  return format === 'jsonl'
    ? `${JSON.stringify({ errors: [{ message, extensions: { code } }] })}\n`
    : `# error=${code} ${message.replace(/[\r\n]+/g, ' ')}\r\n`;
}
