// The committed codegen output (typed documents for first-party clients and the trusted documents
// manifest) must be what codegen makes from schema/operations and the current schema: run
// `npm run codegen` after changing either.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

jest.setTimeout(60_000);

it('schema/operations/generated is up to date', () => {
  const root = path.resolve(__dirname, '..');
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/codegen-output.ts'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const outputs = JSON.parse(stdout) as { filename: string; content: string }[];
  expect(outputs.map((o) => path.basename(o.filename)).sort()).toEqual([
    'gql.ts',
    'graphql.ts',
    'index.ts',
    'persisted-documents.json',
  ]);
  for (const { filename, content } of outputs) {
    const committed = readFileSync(path.resolve(root, filename), 'utf8');
    expect({ filename, content: committed }).toEqual({ filename, content });
  }
});
