// Used by the Prisma CLI (generate; migrate where the native engine exists).
// Evalgraph applies migrations itself through the WebAssembly engine: `evalgraph migrate`.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  // Prisma 7 reads no .env and throws on a missing env(); generate needs no database.
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/evalgraph' },
});
