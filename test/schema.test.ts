import { readFileSync } from 'node:fs';
import path from 'node:path';
import { printSchemaFile } from '../src/schema/print';

describe('schema/schema.graphql', () => {
  it('is the printed Pothos schema (run `npm run schema` after changing the schema)', () => {
    const committed = readFileSync(path.join(__dirname, '..', 'schema', 'schema.graphql'), 'utf8');
    expect(committed).toBe(printSchemaFile());
  });
});
