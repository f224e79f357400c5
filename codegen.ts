// GraphQL Code Generator: typed documents for first-party clients (examples/) from the
// operations in schema/operations, and the manifest of their hashes that the server trusts
// (persisted-documents.json: "sha256:<hex>" → document). Run `npm run codegen` after changing
// an operation or the schema; a test fails when the committed output is stale.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['schema/operations/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'schema/operations/generated/': {
      preset: 'client',
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { mode: 'replaceDocumentWithHash', hashAlgorithm: 'sha256' },
      },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: {
          DateTime: 'string',
          Decimal: 'string',
          SafeInt: 'number',
          JSON: 'unknown',
          BigInt: 'string',
        },
      },
    },
  },
};

export default config;
