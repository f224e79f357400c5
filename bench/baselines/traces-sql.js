'use strict';
// Baseline (the floor) for bench/traces-query.js: node:http and `pg`, one hand-written SQL statement
// for a project's 20 newest traces with their 10 oldest spans each, serialised to the same JSON
// as our `traces` query. No GraphQL, no auth: it ignores the query text and reads only the project
// id from `variables.p` (a Relay global id, base64 "Project:<uuid>").
// Env: DATABASE_URL (required), PORT, HOST, PG_POOL_SIZE (default 10, like ours).
const http = require('node:http');
const pg = require('pg');

const TRACES = 20;
const SPANS = 10;

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.PG_POOL_SIZE || 10),
});
pool.on('error', () => {});

// trim_scale: costs print like ours (Decimal.js toFixed(): "0.0019375", not numeric(20,10)'s "0.0019375000").
const STATEMENT = {
  name: 'bench_traces_with_spans',
  text: `
    select t.id, t.external_id, t.name, t.start_time, trim_scale(t.total_cost)::text as total_cost,
           coalesce(s.spans, '[]'::json) as spans
      from traces t
      left join lateral (
        select json_agg(json_build_array(x.id, x.external_id, x.name, x.model, x.input_tokens, x.output_tokens,
                                         trim_scale(x.total_cost)::text) order by x.start_time, x.id) as spans
          from (select id, external_id, name, model, input_tokens, output_tokens, total_cost, start_time
                  from spans where trace_id = t.id
                 order by start_time, id
                 limit ${SPANS}) x
      ) s on true
     where t.project_id = $1
     order by t.start_time desc, t.id desc
     limit ${TRACES}`,
};

const globalId = (type, id) => Buffer.from(`${type}:${id}`).toString('base64');

function toBody(rows) {
  const edges = rows.map((t) => ({
    node: {
      id: globalId('Trace', t.id),
      externalId: t.external_id,
      name: t.name,
      startTime: t.start_time.toISOString(),
      totalCost: t.total_cost,
      spans: {
        edges: t.spans.map(
          ([id, externalId, name, model, inputTokens, outputTokens, totalCost]) => ({
            node: {
              id: globalId('Span', id),
              externalId,
              name,
              model,
              inputTokens,
              outputTokens,
              totalCost,
            },
          }),
        ),
      },
    },
  }));
  return JSON.stringify({ data: { traces: { edges } } });
}

function send(res, status, body) {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/graphql')
    return send(res, 404, '{"errors":[{"message":"POST /graphql only"}]}');
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      const { variables } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const [type, projectId] = Buffer.from(String(variables?.p), 'base64')
        .toString('utf8')
        .split(':');
      if (type !== 'Project' || !projectId)
        return send(res, 200, '{"errors":[{"message":"variables.p: expected a Project id"}]}');
      const { rows } = await pool.query({ ...STATEMENT, values: [projectId] });
      send(res, 200, toBody(rows));
    } catch (e) {
      send(res, 500, JSON.stringify({ errors: [{ message: String(e?.message) }] }));
    }
  });
});

const port = Number(process.env.PORT || 4004);
const host = process.env.HOST || '127.0.0.1';
server.listen(port, host, () =>
  console.log(`traces-sql baseline on http://${host}:${port}/graphql`),
);
process.on('SIGTERM', () => {
  server.close();
  pool.end().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
});
