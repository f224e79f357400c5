'use strict';
// Baseline: bare graphql-yoga with a static resolver; the floor for what our stack adds on top.
const http = require('node:http');
const { createYoga, createSchema } = require('graphql-yoga');

const yoga = createYoga({
  schema: createSchema({
    typeDefs: 'type Query { viewer: Viewer } type Viewer { id: ID! }',
    resolvers: { Query: { viewer: () => ({ id: 'bench-viewer' }) } },
  }),
  graphiql: false,
  logging: false,
});

const port = Number(process.env.PORT || 4001);
const host = process.env.HOST || '127.0.0.1';
http
  .createServer(yoga)
  .listen(port, host, () => console.log(`yoga baseline on http://${host}:${port}/graphql`));
process.on('SIGTERM', () => process.exit(0));
