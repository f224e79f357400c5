'use strict';
// Baseline: @apollo/server standalone with a static resolver; a widely used server for scale.
const { ApolloServer } = require('@apollo/server');
const { startStandaloneServer } = require('@apollo/server/standalone');

const server = new ApolloServer({
  typeDefs: 'type Query { viewer: Viewer } type Viewer { id: ID! }',
  resolvers: { Query: { viewer: () => ({ id: 'bench-viewer' }) } },
});

const port = Number(process.env.PORT || 4002);
const host = process.env.HOST || '127.0.0.1';
startStandaloneServer(server, { listen: { port, host } }).then(({ url }) =>
  console.log(`apollo baseline on ${url}`),
);
process.on('SIGTERM', () => process.exit(0));
