// graphql-ws publishes `graphql-ws/use/ws` through package exports, which TypeScript's node10
// resolution (kept for the generated Prisma client) does not read; point it at the same types.
declare module 'graphql-ws/use/ws' {
  export * from 'graphql-ws/dist/use/ws';
}
