// Writes the README's table of error codes from ERROR_CODES (src/errors.ts), between its markers.
// test/error-codes.test.ts fails while the README differs.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errorCodeTable } from '../src/errors';

const START = '<!-- error-codes:start (npm run docs:errors writes this table) -->';
const END = '<!-- error-codes:end -->';

const readme = path.join(__dirname, '..', 'README.md');
const text = readFileSync(readme, 'utf8');
const from = text.indexOf(START);
const to = text.indexOf(END);
if (from < 0 || to < from) throw new Error(`README.md lacks the markers ${START} … ${END}`);
writeFileSync(
  readme,
  `${text.slice(0, from + START.length)}\n${errorCodeTable()}\n${text.slice(to)}`,
);
console.log('wrote the error code table in README.md');
