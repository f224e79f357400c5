// The catalogue of error codes (ERROR_CODES in src/errors.ts) is complete and the one source of the
// schema's ErrorCode enum and the README's table; the statuses it gives are the server's.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isEnumType } from 'graphql';
import { ERROR_CODES, errorCodeTable } from '../src/errors';
import { getSchema } from '../src/schema';
import { createTestApp, type TestApp } from './support/app';

const ROOT = path.resolve(__dirname, '..');
const NAME = '([A-Z][A-Z0-9_]*)';
/** The ways a code is given: `appError('X'`, `code: 'X'` (extensions built by hand), `withCode(error, 'X')`. */
const PATTERNS = [
  new RegExp(`\\bappError\\(\\s*['"]${NAME}['"]`, 'g'),
  new RegExp(`\\bcode\\s*:\\s*['"]${NAME}['"]`, 'g'),
  new RegExp(`\\bwithCode\\([^;]*?,\\s*['"]${NAME}['"]`, 'g'),
];

function files(dir: string, keep: (file: string) => boolean): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'generated' ? [] : files(full, keep);
    return keep(full) ? [full] : [];
  });
}

/** Each code sent, with where: our source, and the libraries that answer requests (Yoga and its plugins, graphql-armor). */
function codesSent(): Map<string, string> {
  const sources = [
    ...files(path.join(ROOT, 'src'), (f) => f.endsWith('.ts') && !f.endsWith('.test.ts')),
    ...files(path.join(ROOT, 'node_modules', 'graphql-yoga', 'cjs'), (f) => f.endsWith('.js')),
    ...readdirSync(path.join(ROOT, 'node_modules', '@graphql-yoga')).flatMap((p) => {
      const dir = path.join(ROOT, 'node_modules', '@graphql-yoga', p, 'cjs');
      return statSync(dir, { throwIfNoEntry: false })?.isDirectory()
        ? files(dir, (f) => f.endsWith('.js'))
        : [];
    }),
    ...readdirSync(path.join(ROOT, 'node_modules', '@escape.tech')).flatMap((p) =>
      files(path.join(ROOT, 'node_modules', '@escape.tech', p, 'dist'), (f) =>
        f.endsWith('.cjs.dev.js'),
      ),
    ),
  ];
  const found = new Map<string, string>();
  for (const file of sources) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of PATTERNS)
      for (const match of text.matchAll(pattern)) {
        const line = text.slice(0, match.index).split('\n').length;
        if (!found.has(match[1])) found.set(match[1], `${path.relative(ROOT, file)}:${line}`);
      }
  }
  return found;
}

describe('error codes', () => {
  it('declares every code the server or its libraries can send in ERROR_CODES', () => {
    const sent = codesSent();
    // The scan finds what it must: codes of ours and of GraphQL Yoga.
    expect(
      sent.has('NOT_FOUND') && sent.has('GRAPHQL_PARSE_FAILED') && sent.has('BAD_REQUEST'),
    ).toBe(true);
    const missing = [...sent].filter(([code]) => !(code in ERROR_CODES));
    if (missing.length)
      throw new Error(
        missing
          .map(
            ([code, where]) =>
              `${where} sends extensions.code '${code}', which src/errors.ts does not declare. Add to ERROR_CODES there:\n` +
              `  ${code}: { status: <HTTP status of a response with this error alone>, description: '<what it means, what the caller can do>' },\n` +
              'then run `npm run schema && npm run codegen` (the ErrorCode enum) and `npm run docs:errors` (the README table).',
          )
          .join('\n\n'),
      );
  });

  it('gives the schema an ErrorCode enum of exactly those codes, each described', () => {
    const type = getSchema().getType('ErrorCode');
    if (!isEnumType(type)) throw new Error('the schema has no ErrorCode enum');
    expect(
      type
        .getValues()
        .map((v) => v.name)
        .sort(),
    ).toEqual(Object.keys(ERROR_CODES).sort());
    for (const value of type.getValues())
      expect(value.description).toContain(
        ERROR_CODES[value.name as keyof typeof ERROR_CODES].description,
      );
    const printed = readFileSync(path.join(ROOT, 'schema', 'schema.graphql'), 'utf8');
    for (const code of Object.keys(ERROR_CODES))
      expect(printed).toMatch(new RegExp(`enum ErrorCode \\{[^}]*\\b${code}\\b`));
  });

  it('lists them in the README table as ERROR_CODES says (npm run docs:errors)', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const table = /<!-- error-codes:start[^>]*-->\n([\s\S]*?)\n<!-- error-codes:end -->/.exec(
      readme,
    );
    expect(table?.[1]).toBe(errorCodeTable());
  });

  describe('as the server sends them', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await createTestApp();
    });
    afterAll(() => app.close());

    const post = async (body: string, key: string | null = app.adminKey) => {
      const res = await fetch(app.graphqlUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(key ? { authorization: `Bearer ${key}` } : {}),
        },
        body,
      });
      const json = await res.json();
      return { status: res.status, code: json.errors?.[0]?.extensions?.code };
    };
    const expectCode = (answer: { status: number; code: string }, code: keyof typeof ERROR_CODES) =>
      expect(answer).toEqual({ status: ERROR_CODES[code].status, code });

    it('with the statuses ERROR_CODES gives', async () => {
      const q = (query: string, variables = {}) => JSON.stringify({ query, variables });
      expectCode(await post(q('{ viewer { id } }'), 'evg_unknown'), 'UNAUTHENTICATED');
      expectCode(await post(q('{ viewer { id }')), 'GRAPHQL_PARSE_FAILED');
      expectCode(await post(q('{ viewer { nope } }')), 'GRAPHQL_VALIDATION_FAILED');
      expectCode(await post('{"query": '), 'BAD_REQUEST');
      expectCode(
        await post(q('query($id: ID!) { project(id: $id) { name } }', { id: 'UHJvamVjdDow' })),
        'NOT_FOUND',
      );
      expectCode(
        await post(q('query($id: ID!) { project(id: $id) { name } }', { id: 'not a global id' })),
        'BAD_USER_INPUT',
      );
    });
  });
});
