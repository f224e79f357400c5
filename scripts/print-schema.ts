// `npm run schema`: writes schema/schema.graphql from the Pothos schema (sorted). A test fails when it is stale.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { printSchemaFile } from '../src/schema/print';

const file = path.join(__dirname, '..', 'schema', 'schema.graphql');
writeFileSync(file, printSchemaFile());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
