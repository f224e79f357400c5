// PGlite publishes its contrib extensions through package exports, which TypeScript's node10
// resolution (kept for the generated Prisma client) does not read; point it at the same types.
declare module '@electric-sql/pglite/contrib/pg_trgm' {
  export * from '@electric-sql/pglite/dist/contrib/pg_trgm';
}
