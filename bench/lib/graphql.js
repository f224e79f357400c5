'use strict';
const { performance } = require('node:perf_hooks');
// Small helpers the benchmarks share: a GraphQL call that fails on errors, a database URL, and a
// client of it for one task.

/** POSTs an operation with the key; resolves with `data`, throws on `errors`. */
async function gql(url, key, query, variables) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const json = await res.json();
  if (json.errors) throw new Error(JSON.stringify(json.errors).slice(0, 500));
  return json.data;
}

/** The same server URL with another database. */
const withDatabase = (url, name) =>
  Object.assign(new URL(url), { pathname: `/${name}` }).toString();

const INGEST =
  'mutation($input: IngestSpansInput!) { ingestSpans(input: $input) { acceptedCount rejectedCount } }';

/**
 * Sends one batch of spans to ingestSpans, timed: its latency goes into `latencies` when every
 * span was accepted, else its error into `failures`. Resolves with the spans accepted (0 or all).
 */
function sendBatch(url, key, projectGid, spans, latencies, failures) {
  const t0 = performance.now();
  return fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: INGEST, variables: { input: { projectId: projectGid, spans } } }),
  })
    .then((r) => r.json())
    .then((json) => {
      const r = json.data?.ingestSpans;
      if (json.errors || !r || r.acceptedCount !== spans.length)
        throw new Error(JSON.stringify(json).slice(0, 300));
      latencies.push(performance.now() - t0);
      return spans.length;
    })
    .catch((e) => {
      failures.push(e.message);
      return 0;
    });
}

/** Runs `fn` with a connected client of `url`, and ends the client. */
async function withClient(url, fn) {
  const pg = require('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

module.exports = { gql, withDatabase, withClient, sendBatch };
