'use strict';
// The platform layer's own cost on the traces page query (20 traces × 10 spans with costs):
// (a) our server with cost analysis and rate limiting on, against the same server with them off,
// side by side on one database (the bucket is made large enough never to throttle, so what is
// measured is the work: the cost walk before, the actual cost after, two bucket steps);
// (b) the same query sent by its persisted hash (APQ, POST) against its full text, on one server;
// (c) with the response cache on: a hit (the same query and variables again) against a miss (a
// nonce among the variables makes every request new to the cache, so each one executes and is
// stored), on one server. (a) and (b) run with the cache off.
const crypto = require('node:crypto');
const pg = require('pg');
const harness = require('./lib/harness');
const { startOurs, describeExit } = require('./lib/servers');
const { gql, withDatabase } = require('./lib/graphql');

const BIG_BUCKET = JSON.stringify({ ENTERPRISE: { capacity: 1e8, restoreRate: 1e7 } });

const QUERY = `query($p: ID!) { traces(projectId: $p, first: 20) { edges { node { id externalId name startTime totalCost spans(first: 10) { edges { node { id externalId name model inputTokens outputTokens totalCost } } } } } } }`;

/** 200 traces of 10 spans (an agent and nine model calls), through ingestSpans. */
async function seed(url, key, projectId) {
  const models = ['gpt-4o-2024-08-06', 'gpt-4o-mini', 'claude-3-5-sonnet-20241022'];
  for (let batch = 0; batch < 2; batch++) {
    const spans = [];
    for (let t = batch * 100; t < (batch + 1) * 100; t++) {
      for (let s = 0; s < 10; s++) {
        const start = new Date(Date.UTC(2026, 10, 1, 0, 0, t, s * 10)).toISOString();
        spans.push({
          traceId: `trace-${t}`,
          spanId: `span-${t}-${s}`,
          parentSpanId: s === 0 ? null : `span-${t}-0`,
          name: s === 0 ? 'agent' : `call ${s}`,
          kind: s === 0 ? 'AGENT' : 'LLM',
          startTime: start,
          endTime: new Date(Date.parse(start) + 500).toISOString(),
          ...(s === 0 ? {} : { model: models[s % 3], inputTokens: 100 * s, outputTokens: 20 * s }),
        });
      }
    }
    await gql(
      url,
      key,
      'mutation($input: IngestSpansInput!) { ingestSpans(input: $input) { acceptedCount } }',
      { input: { projectId, spans } },
    );
  }
}

module.exports = async function platform() {
  const opts = harness.settings();
  const pgUrl = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `evalgraph_bench_platform_${crypto.randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const servers = [];
  try {
    const key = `evg_bench_${crypto.randomBytes(24).toString('base64url')}`;
    const databaseUrl = withDatabase(pgUrl, dbName);
    const on = await startOurs({
      databaseUrl,
      key,
      env: {
        EVALGRAPH_RATE_LIMIT: 'true',
        EVALGRAPH_RESPONSE_CACHE: 'false',
        EVALGRAPH_RATE_LIMIT_TIERS: BIG_BUCKET,
      },
    });
    servers.push(on.server);
    const off = await startOurs({
      databaseUrl,
      key,
      env: { EVALGRAPH_RATE_LIMIT: 'false', EVALGRAPH_RESPONSE_CACHE: 'false' },
    });
    servers.push(off.server);
    // Defaults otherwise: rate limiting on (a bucket that never throttles) and the response cache.
    const cached = await startOurs({
      databaseUrl,
      key,
      env: { EVALGRAPH_RATE_LIMIT_TIERS: BIG_BUCKET },
    });
    servers.push(cached.server);
    const projectId = (await gql(on.url, key, '{ projects { edges { node { id } } } }')).projects
      .edges[0].node.id;
    await seed(on.url, key, projectId);

    const request = (url) => ({
      url: `${url}/graphql`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: QUERY, variables: { p: projectId } }),
    });
    const expect = (json) =>
      json.data.traces.edges.length === 20 ? undefined : 'expected 20 traces';
    const summaries = await harness.interleave(
      [
        {
          name: 'limits on',
          request: request(on.url),
          expect,
          server: on.server,
          varyingBody: true,
        },
        { name: 'limits off', request: request(off.url), expect, server: off.server },
      ],
      opts,
    );
    const ratioRows = harness.ratios(summaries);
    console.log(
      harness.report({
        title:
          'platform (a): traces page query, cost analysis and rate limiting on vs off (Postgres, one database)',
        opts,
        summaries,
        ratioRows,
      }),
    );
    const r = ratioRows[0].rps;
    console.log(
      `goal limits on / off: req/s ≥ 0.95x: ${r != null && r >= 0.95 ? 'met' : 'NOT met'} (${r == null ? 'n/a' : `${r.toFixed(2)}x`})`,
    );

    // (b) Register the query's hash once, then send the hash alone.
    const sha256Hash = crypto.createHash('sha256').update(QUERY).digest('hex');
    const persisted = { version: 1, sha256Hash };
    await fetch(`${off.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({
        query: QUERY,
        variables: { p: projectId },
        extensions: { persistedQuery: persisted },
      }),
    });
    const byHash = {
      ...request(off.url),
      body: JSON.stringify({
        variables: { p: projectId },
        extensions: { persistedQuery: persisted },
      }),
    };
    const b = await harness.interleave(
      [
        { name: 'hash', request: byHash, expect, server: off.server },
        { name: 'text', request: request(off.url), expect, server: off.server },
      ],
      opts,
    );
    const bRows = harness.ratios(b);
    console.log(
      harness.report({
        title:
          'platform (b): the same query by persisted hash (APQ) vs full text (rate limiting off)',
        opts,
        summaries: b,
        ratioRows: bRows,
      }),
    );
    const rb = bRows[0].rps;
    console.log(
      `goal hash / text: req/s ≥ 1.2x: ${rb != null && rb >= 1.2 ? 'met' : 'NOT met'} (${rb == null ? 'n/a' : `${rb.toFixed(2)}x`})`,
    );

    // (c) Hit: the same body every time. Miss: a new nonce in the variables for every request.
    let nonce = 0;
    const missBody = (n) => JSON.stringify({ query: QUERY, variables: { p: projectId, nonce: n } });
    const miss = {
      ...request(cached.url),
      body: missBody('probe'),
      setupRequest: (req) => ({ ...req, body: missBody(++nonce) }),
    };
    const c = await harness.interleave(
      [
        {
          name: 'hit',
          request: request(cached.url),
          expect,
          server: cached.server,
          varyingBody: true,
        },
        { name: 'miss', request: miss, expect, server: cached.server, varyingBody: true },
      ],
      opts,
    );
    const cRows = harness.ratios(c);
    console.log(
      harness.report({
        title: 'platform (c): response cache hit vs miss (same server, rate limiting on)',
        opts,
        summaries: c,
        ratioRows: cRows,
      }),
    );
    const rc = cRows[0].rps;
    console.log(
      `goal hit / miss: req/s ≥ 5x: ${rc != null && rc >= 5 ? 'met' : 'NOT met'} (${rc == null ? 'n/a' : `${rc.toFixed(2)}x`})`,
    );
    console.log(
      `results: ${harness.writeResults('platform', { a: { summaries, ratioRows }, b: { summaries: b, ratioRows: bRows }, c: { summaries: c, ratioRows: cRows } })}`,
    );
    return 0;
  } catch (error) {
    for (const s of servers)
      if (s.exited)
        process.stderr.write(`${s.name} exited: ${describeExit(s.exited)}\n${s.tail.join('\n')}\n`);
    throw error;
  } finally {
    for (const s of servers) await s.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
};
