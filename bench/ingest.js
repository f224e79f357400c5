'use strict';
// ingestSpans throughput: our full server taking batches of 1,000 spans over GraphQL, against
// the same rows written straight into Postgres with pg (INSERT … SELECT FROM unnest, and COPY),
// all three into the same tables of one fresh database, so indexes and constraints are identical.
// A second server of ours on the same database with EVALGRAPH_ROLLUPS=false (`plain`: ingest writes
// no span_rollups) shows what maintaining the rollups costs: `ours / plain`.
// With BENCH_INGEST_RULES=N, another target sends the same batches to a second project of the
// same server that has N enabled online evaluation rules: `rules / ours` is what matching costs.
const { envNumber } = require('./lib/settings');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const pg = require('pg');
const copyFrom = require('pg-copy-streams').from;
const harness = require('./lib/harness');
const { freePort, startServer, getOk, describeExit, sleep } = require('./lib/servers');
const { gql } = require('./lib/graphql');
const { CREATE_RULE, ruleInput } = require('./lib/rules');

const root = path.resolve(__dirname, '..');
const MUTATION =
  'mutation($input: IngestSpansInput!) { ingestSpans(input: $input) { acceptedCount rejectedCount } }';
const SPANS_PER_TRACE = 10;

// uuid v7 like the server (time-ordered ids keep the primary key index append-only);
// the product's `uuid` is CommonJS up to v11, else fall back to v4.
const uuidv7 = (() => {
  try {
    return require(path.join(root, 'node_modules', 'uuid')).v7;
  } catch {
    return () => crypto.randomUUID();
  }
})();

function settings() {
  const raw = process.env.BENCH_INGEST_CONCURRENCY || '1,4';
  const concurrency = raw.split(',').map((s) => Number(s.trim()));
  if (!concurrency.length || concurrency.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new Error(
      `BENCH_INGEST_CONCURRENCY: expected whole numbers >= 1 separated by commas, got "${raw}"`,
    );
  }
  const batchSize = envNumber('BENCH_INGEST_BATCH', 1000);
  if (
    !Number.isInteger(batchSize) ||
    batchSize < SPANS_PER_TRACE ||
    batchSize > 1000 ||
    batchSize % SPANS_PER_TRACE
  ) {
    throw new Error(
      `BENCH_INGEST_BATCH: expected a multiple of ${SPANS_PER_TRACE} from 10 to 1000 (the server's limit), got ${batchSize}`,
    );
  }
  return {
    duration: envNumber('BENCH_DURATION', 5), // seconds per measured run
    runs: envNumber('BENCH_RUNS', 3), // valid runs wanted per target and concurrency
    warmup: envNumber('BENCH_WARMUP', 2), // seconds per target before round 1, not counted
    extraRounds: envNumber('BENCH_EXTRA_ROUNDS', 2),
    concurrency,
    batchSize,
    pgUrl: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    analyze: analyzeMode(process.env.BENCH_INGEST_ANALYZE || 'auto'),
    // Online evaluation rules of the `rules` target's project (0: no such target).
    rules: envNumber('BENCH_INGEST_RULES', 0),
    ruleRate: envNumber('BENCH_INGEST_RULE_RATE', 0.1),
    // Their tasks come due after the run: this measures ingest with matching, not judging.
    ruleDelay: envNumber('BENCH_INGEST_RULE_DELAY', 3600),
    nodeEnv: process.env.BENCH_NODE_ENV || 'production', // as the Docker image runs it
  };
}

function analyzeMode(v) {
  if (!['auto', 'always', 'never'].includes(v))
    throw new Error(`BENCH_INGEST_ANALYZE: expected auto, always or never, got "${v}"`);
  return v;
}

// ───────────────────────────── span generator ─────────────────────────────
// Deterministic per batch number: batch n of every target has the same content, only the trace
// ids differ (each target has its own prefix), so the targets write comparable rows.

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'the a of to and in customer order refund invoice shipping account password reset policy plan ' +
  'upgrade billing error timeout latency request response model prompt context retrieve document ' +
  'summary answer question support ticket priority escalate product feature release version region ' +
  'database query index cache token budget user session agent tool call result search relevant ' +
  'please could you explain why how when where which check update status delivery warranty return'
).split(' ');

function sentence(rnd, min, max) {
  const words = [];
  let len = 0;
  const target = min + Math.floor(rnd() * (max - min));
  while (len < target) {
    const w = WORDS[Math.floor(rnd() * WORDS.length)];
    words.push(w);
    len += w.length + 1;
  }
  const s = words.join(' ');
  return `${s[0].toUpperCase()}${s.slice(1)}.`;
}

// Pools of texts, 200–500 characters, built once from a fixed seed.
const TEXTS = (() => {
  const rnd = mulberry32(42);
  const make = (kind) =>
    Array.from({ length: 64 }, () => {
      const a = sentence(rnd, 80, 240);
      const b = sentence(rnd, 80, 240);
      return kind === 'prompt' ? `System: You are a support agent.\nUser: ${a}\n${b}` : `${a} ${b}`;
    });
  return { prompts: make('prompt'), completions: make('completion') };
})();

// Prices in USD per 1M tokens (input, output, cached input), as the built-in price table has them
// for these models; the baselines price with them, our server with its own table.
const MODELS = [
  {
    model: 'gpt-4o-2024-08-06',
    normalized: 'gpt-4o',
    provider: 'openai',
    name: 'openai.chat.completions',
    price: ['2.50', '10.00', '1.25'],
  },
  {
    model: 'gpt-4o-mini',
    normalized: 'gpt-4o-mini',
    provider: 'openai',
    name: 'openai.chat.completions',
    price: ['0.15', '0.60', '0.075'],
  },
  {
    model: 'claude-3-5-sonnet-20241022',
    normalized: 'claude-3-5-sonnet',
    provider: 'anthropic',
    name: 'anthropic.messages',
    price: ['3.00', '15.00', '0.30'],
  },
];
// Money in units of 1e-10 USD (the columns are numeric(20,10)): per token = price per 1M x 1e4.
for (const m of MODELS) m.units = m.price.map((p) => Math.round(Number(p) * 1e4));

const hex = (rnd, chars) => {
  let s = '';
  while (s.length < chars)
    s += Math.floor(rnd() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return s.slice(0, chars);
};

/**
 * One batch: batchSize / 10 traces of one AGENT root span and nine LLM calls, as a client sends
 * them to ingestSpans. Trace ids are 32 hex: prefix (14) + batch number (12) + trace index (6).
 */
function makeBatch(prefix, seq, batchSize, baseMs) {
  const rnd = mulberry32(0x9e3779b9 ^ seq);
  const spans = [];
  for (let t = 0; t < batchSize / SPANS_PER_TRACE; t++) {
    const traceId = `${prefix}${seq.toString(16).padStart(12, '0')}${t.toString(16).padStart(6, '0')}`;
    const rootId = hex(rnd, 16);
    const userId = `user-${Math.floor(rnd() * 5000)}`;
    const sessionId = `session-${hex(rnd, 12)}`;
    const start = baseMs + seq * 1000 + t * 7;
    let at = start + 3 + Math.floor(rnd() * 10);
    const calls = [];
    for (let k = 1; k < SPANS_PER_TRACE; k++) {
      const m = MODELS[Math.floor(rnd() * MODELS.length)];
      const inputTokens = 200 + Math.floor(rnd() * 3800);
      const cached = rnd() < 0.3 ? Math.floor(inputTokens * rnd() * 0.8) : 0;
      const outputTokens = 20 + Math.floor(rnd() * 800);
      const took = 250 + Math.floor(rnd() * 2500);
      calls.push({
        traceId,
        spanId: hex(rnd, 16),
        parentSpanId: rootId,
        kind: 'LLM',
        name: m.name,
        startTime: new Date(at).toISOString(),
        endTime: new Date(at + took).toISOString(),
        status: 'OK',
        model: m.model,
        provider: m.provider,
        inputTokens,
        outputTokens,
        cachedInputTokens: cached,
        userId,
        sessionId,
        tags: ['bench'],
        metadata: { temperature: Math.round(rnd() * 10) / 10, max_tokens: 1024, step: k },
        input: TEXTS.prompts[Math.floor(rnd() * TEXTS.prompts.length)],
        output: TEXTS.completions[Math.floor(rnd() * TEXTS.completions.length)],
      });
      at += took + Math.floor(rnd() * 20);
    }
    spans.push(
      {
        traceId,
        spanId: rootId,
        kind: 'AGENT',
        name: 'support-agent.run',
        startTime: new Date(start).toISOString(),
        endTime: new Date(at + 5).toISOString(),
        status: 'OK',
        userId,
        sessionId,
        tags: ['bench'],
        metadata: { env: 'bench', agentVersion: '1.4.2', region: 'eu-west-1', route: 'support' },
        input: TEXTS.prompts[Math.floor(rnd() * TEXTS.prompts.length)],
        output: TEXTS.completions[Math.floor(rnd() * TEXTS.completions.length)],
      },
      ...calls,
    );
  }
  return spans;
}

// ───────────────────────────── baseline rows ─────────────────────────────
// What our ingest stores for such a batch, computed in the client: span rows with latency, token
// totals and costs, and one final trace row per trace with the totals our refreshTraces computes.

const money = (units) =>
  units == null ? null : `${Math.floor(units / 1e10)}.${String(units % 1e10).padStart(10, '0')}`;

function toRows(spans, now) {
  const traces = new Map();
  const spanRows = [];
  for (const s of spans) {
    let t = traces.get(s.traceId);
    if (!t) {
      t = { id: uuidv7(), external_id: s.traceId, spans: [] };
      traces.set(s.traceId, t);
    }
    const m = s.model ? MODELS.find((x) => x.model === s.model) : null;
    const usage = s.inputTokens != null;
    const cached = usage ? Math.min(s.cachedInputTokens ?? 0, s.inputTokens) : 0;
    let cost = null;
    if (m && usage) {
      const cachedCost = cached * m.units[2];
      const input = (s.inputTokens - cached) * m.units[0] + cachedCost;
      const output = s.outputTokens * m.units[1];
      cost = { input, output, cached: cachedCost, total: input + output };
    }
    const startMs = Date.parse(s.startTime);
    const endMs = s.endTime ? Date.parse(s.endTime) : null;
    const row = {
      id: uuidv7(),
      trace_id: t.id,
      external_id: s.spanId,
      parent_external_id: s.parentSpanId ?? null,
      kind: s.kind ?? (s.model ? 'LLM' : 'GENERIC'),
      name: s.name,
      model: s.model ?? null,
      // What src/lib/model-name.ts makes of these names (the server stores it for filters).
      normalized_model: m ? m.normalized : null,
      provider: s.provider ?? null,
      start_time: s.startTime,
      end_time: s.endTime ?? null,
      latency_ms: endMs == null ? null : endMs - startMs,
      status: s.status ?? 'UNSET',
      error: null,
      user_id: s.userId ?? null,
      session_id: s.sessionId ?? null,
      tags: s.tags ?? [],
      metadata: s.metadata == null ? null : JSON.stringify(s.metadata),
      input: s.input ?? null,
      output: s.output ?? null,
      input_tokens: s.inputTokens ?? 0,
      output_tokens: s.outputTokens ?? 0,
      cached_input_tokens: usage ? (s.cachedInputTokens ?? 0) : 0,
      total_tokens: usage ? s.inputTokens + s.outputTokens : 0,
      usage_estimated: false,
      text_truncated: false,
      input_cost: cost && money(cost.input),
      output_cost: cost && money(cost.output),
      cached_input_cost: cost && money(cost.cached),
      total_cost: cost && money(cost.total),
      cost_provided: false,
      price_source: cost ? 'TABLE' : null, // priced from the price table
      updated_at: now,
      _startMs: startMs,
      _endMs: endMs ?? startMs,
      _cost: cost,
    };
    t.spans.push(row);
    spanRows.push(row);
  }

  const traceRows = [];
  for (const t of traces.values()) {
    const byStart = [...t.spans].sort((a, b) => a._startMs - b._startMs);
    const rootSpan = byStart.find((s) => s.parent_external_id == null);
    const start = Math.min(...t.spans.map((s) => s._startMs));
    const end = Math.max(...t.spans.map((s) => s._endMs));
    const sum = (f) => t.spans.reduce((acc, s) => acc + f(s), 0);
    const errors = t.spans.filter((s) => s.status === 'ERROR').length;
    const oks = t.spans.filter((s) => s.status === 'OK').length;
    traceRows.push({
      id: t.id,
      external_id: t.external_id,
      name: (rootSpan ?? byStart[0]).name,
      user_id: byStart.find((s) => s.user_id != null)?.user_id ?? null,
      session_id: byStart.find((s) => s.session_id != null)?.session_id ?? null,
      tags: [...new Set(t.spans.flatMap((s) => s.tags))].sort(),
      metadata:
        byStart.find((s) => s.parent_external_id == null && s.metadata != null)?.metadata ?? null,
      start_time: new Date(start).toISOString(),
      end_time: new Date(end).toISOString(),
      latency_ms: end - start,
      status: errors > 0 ? 'ERROR' : oks > 0 ? 'OK' : 'UNSET',
      span_count: t.spans.length,
      error_count: errors,
      input_tokens: sum((s) => s.input_tokens),
      output_tokens: sum((s) => s.output_tokens),
      cached_input_tokens: sum((s) => s.cached_input_tokens),
      total_tokens: sum((s) => s.total_tokens),
      input_cost: money(sum((s) => (s._cost ? s._cost.input : 0))),
      output_cost: money(sum((s) => (s._cost ? s._cost.output : 0))),
      total_cost: money(sum((s) => (s._cost ? s._cost.total : 0))),
      updated_at: now,
    });
  }
  return { traceRows, spanRows };
}

// [column, Postgres type] in the order both baselines send them (project_id is added by each).
const TRACE_COLUMNS = [
  ['id', 'uuid'],
  ['external_id', 'text'],
  ['name', 'text'],
  ['user_id', 'text'],
  ['session_id', 'text'],
  ['tags', 'text[]'],
  ['metadata', 'jsonb'],
  ['start_time', 'timestamptz'],
  ['end_time', 'timestamptz'],
  ['latency_ms', 'int'],
  ['status', '"SpanStatus"'],
  ['span_count', 'int'],
  ['error_count', 'int'],
  ['input_tokens', 'bigint'],
  ['output_tokens', 'bigint'],
  ['cached_input_tokens', 'bigint'],
  ['total_tokens', 'bigint'],
  ['input_cost', 'numeric'],
  ['output_cost', 'numeric'],
  ['total_cost', 'numeric'],
  ['updated_at', 'timestamptz'],
];
const SPAN_COLUMNS = [
  ['id', 'uuid'],
  ['trace_id', 'uuid'],
  ['external_id', 'text'],
  ['parent_external_id', 'text'],
  ['kind', '"SpanKind"'],
  ['name', 'text'],
  ['model', 'text'],
  ['normalized_model', 'text'],
  ['provider', 'text'],
  ['start_time', 'timestamptz'],
  ['end_time', 'timestamptz'],
  ['latency_ms', 'int'],
  ['status', '"SpanStatus"'],
  ['error', 'text'],
  ['user_id', 'text'],
  ['session_id', 'text'],
  ['tags', 'text[]'],
  ['metadata', 'jsonb'],
  ['input', 'text'],
  ['output', 'text'],
  ['input_tokens', 'int'],
  ['output_tokens', 'int'],
  ['cached_input_tokens', 'int'],
  ['total_tokens', 'int'],
  ['usage_estimated', 'boolean'],
  ['text_truncated', 'boolean'],
  ['input_cost', 'numeric'],
  ['output_cost', 'numeric'],
  ['cached_input_cost', 'numeric'],
  ['total_cost', 'numeric'],
  ['cost_provided', 'boolean'],
  ['price_source', '"PriceSource"'],
  ['updated_at', 'timestamptz'],
];

// A text[] value as an array literal ({"a","b"}); unnest cannot carry arrays of arrays.
const arrayLiteral = (xs) =>
  `{${xs.map((x) => `"${String(x).replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;

/** INSERT … SELECT FROM unnest($2::type[], …): one parameter per column, whatever the batch size. */
function unnestStatement(table, columns) {
  const arrays = columns.map(([, type], i) => `$${i + 2}::${type === 'text[]' ? 'text' : type}[]`);
  const select = columns.map(([name, type]) =>
    type === 'text[]' ? `r.${name}::text[]` : `r.${name}`,
  );
  return (
    `INSERT INTO ${table} (project_id, ${columns.map(([n]) => n).join(', ')})\n` +
    `SELECT $1::uuid, ${select.join(', ')}\n` +
    `FROM unnest(${arrays.join(', ')}) AS r(${columns.map(([n]) => n).join(', ')})`
  );
}
const UNNEST_TRACES = unnestStatement('traces', TRACE_COLUMNS);
const UNNEST_SPANS = unnestStatement('spans', SPAN_COLUMNS);

const unnestValues = (projectId, rows, columns) => [
  projectId,
  ...columns.map(([name, type]) =>
    rows.map((r) => (type === 'text[]' ? arrayLiteral(r[name]) : r[name])),
  ),
];

// COPY text format: tab-separated, \N for null, backslash escapes.
const COPY_ESCAPES = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const copyField = (v) =>
  v == null ? '\\N' : String(v).replace(/[\\\n\r\t]/g, (c) => COPY_ESCAPES[c]);

function copyText(projectId, rows, columns) {
  let out = '';
  for (const r of rows) {
    out += projectId;
    for (const [name, type] of columns)
      out += `\t${copyField(type === 'text[]' ? arrayLiteral(r[name]) : r[name])}`;
    out += '\n';
  }
  return out;
}
const copyStatement = (table, columns) =>
  `COPY ${table} (project_id, ${columns.map(([n]) => n).join(', ')}) FROM STDIN`;

function copyInto(client, sql, text) {
  return new Promise((resolve, reject) => {
    const stream = client.query(copyFrom(sql));
    stream.on('error', reject);
    stream.on('finish', () => resolve(stream.rowCount));
    stream.end(text);
  });
}

/** One transaction on a pooled connection; rolls back (and drops the connection) on failure. */
async function inTransaction(pool, work) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await work(client);
    await client.query('COMMIT');
    client.release();
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    client.release(true);
    throw e;
  }
}

const expectCount = (what, got, want) => {
  if (Number(got) !== want) throw new Error(`${what}: ${got} rows written, expected ${want}`);
};

// ───────────────────────────── targets ─────────────────────────────

function oursTarget({ port, apiKey, projectGid }) {
  const url = `http://127.0.0.1:${port}/graphql`;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` };
  return async (spans) => {
    const body = JSON.stringify({
      query: MUTATION,
      variables: { input: { projectId: projectGid, spans } },
    });
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(120_000),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
    const json = JSON.parse(text);
    const r = json.data?.ingestSpans;
    if (json.errors || !r || r.acceptedCount !== spans.length || r.rejectedCount !== 0) {
      throw new Error(`unexpected answer: ${text.slice(0, 300)}`);
    }
  };
}

function unnestTarget({ pool, projectId }) {
  return async (spans) => {
    const { traceRows, spanRows } = toRows(spans, new Date().toISOString());
    await inTransaction(pool, async (client) => {
      // Named statements: prepared once per connection, as a tuned writer would.
      const t = await client.query({
        name: 'bench_unnest_traces',
        text: UNNEST_TRACES,
        values: unnestValues(projectId, traceRows, TRACE_COLUMNS),
      });
      expectCount('traces', t.rowCount, traceRows.length);
      const s = await client.query({
        name: 'bench_unnest_spans',
        text: UNNEST_SPANS,
        values: unnestValues(projectId, spanRows, SPAN_COLUMNS),
      });
      expectCount('spans', s.rowCount, spanRows.length);
    });
  };
}

function copyTarget({ pool, projectId }) {
  const copyTraces = copyStatement('traces', TRACE_COLUMNS);
  const copySpans = copyStatement('spans', SPAN_COLUMNS);
  return async (spans) => {
    const { traceRows, spanRows } = toRows(spans, new Date().toISOString());
    await inTransaction(pool, async (client) => {
      expectCount(
        'traces',
        await copyInto(client, copyTraces, copyText(projectId, traceRows, TRACE_COLUMNS)),
        traceRows.length,
      );
      expectCount(
        'spans',
        await copyInto(client, copySpans, copyText(projectId, spanRows, SPAN_COLUMNS)),
        spanRows.length,
      );
    });
  };
}

/**
 * Send batches from `concurrency` clients until `seconds` have passed; each client waits for its
 * answer before sending the next batch. The batch in flight at the deadline still counts.
 */
async function drive(target, { concurrency, seconds, batchSize, baseMs }) {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const latencies = [];
  let spans = 0;
  let last = started;
  let failure = null;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!failure && performance.now() < deadline) {
        const batch = makeBatch(target.prefix, target.nextSeq++, batchSize, baseMs);
        const t0 = performance.now();
        try {
          await target.send(batch);
        } catch (e) {
          failure = failure || (e?.message ? e.message : String(e));
          return;
        }
        const t1 = performance.now();
        target.written += batch.length;
        latencies.push(t1 - t0);
        spans += batch.length;
        last = t1;
      }
    }),
  );
  const elapsed = (last - started) / 1000;
  return {
    spansPerSec: spans > 0 ? spans / elapsed : 0,
    spans,
    batches: latencies.length,
    seconds: elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    failure,
  };
}

function percentile(xs, p) {
  if (!xs.length) return null;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

// ───────────────────────────── checks on what was stored ─────────────────────────────

/**
 * Batch 0 of every target has the same content: the rows stored by the baselines must equal ours,
 * column by column, except ids and timestamps of the write itself.
 */
async function compareFirstBatch(client, projectId, prefixes) {
  const rowsOf = async (prefix) => {
    const like = `${prefix}000000000000%`;
    const traces = await client.query(
      `SELECT substr(external_id, $3) AS k, (to_jsonb(t) - 'id' - 'external_id' - 'created_at' - 'updated_at')::text AS row
       FROM traces t WHERE project_id = $1 AND external_id LIKE $2 ORDER BY 1`,
      [projectId, like, prefix.length + 1],
    );
    const spans = await client.query(
      `SELECT substr(t.external_id, $3) || '/' || s.external_id AS k,
         (to_jsonb(s) - 'id' - 'trace_id' - 'created_at' - 'updated_at')::text AS row
       FROM spans s JOIN traces t ON t.id = s.trace_id WHERE t.project_id = $1 AND t.external_id LIKE $2 ORDER BY 1`,
      [projectId, like, prefix.length + 1],
    );
    return { traces: traces.rows, spans: spans.rows };
  };
  const ours = await rowsOf(prefixes.ours);
  if (!ours.spans.length) throw new Error('check: found no spans of ours for batch 0');
  for (const name of ['plain', 'unnest', 'copy']) {
    const theirs = await rowsOf(prefixes[name]);
    for (const table of ['traces', 'spans']) {
      const a = ours[table];
      const b = theirs[table];
      if (a.length !== b.length)
        throw new Error(
          `check: ${name} stored ${b.length} ${table} rows for batch 0, ours ${a.length}`,
        );
      a.forEach((row, i) => {
        if (row.k !== b[i].k || row.row !== b[i].row) {
          const x = JSON.parse(row.row);
          const y = JSON.parse(b[i].row);
          const cols = Object.keys({ ...x, ...y }).filter(
            (c) => JSON.stringify(x[c]) !== JSON.stringify(y[c]),
          );
          throw new Error(
            `check: ${name} ${table} row ${row.k} differs from ours in ${cols.join(', ') || 'key'}: ` +
              cols
                .map((c) => `${c} ours=${JSON.stringify(x[c])} ${name}=${JSON.stringify(y[c])}`)
                .join('; ')
                .slice(0, 600),
          );
        }
      });
    }
  }
  return { traces: ours.traces.length, spans: ours.spans.length };
}

/** Every span a target reported as written is in the database, under its traces' prefix. */
async function countStored(client, projectId, prefix) {
  const r = await client.query(
    `SELECT count(*)::int AS traces, COALESCE(sum(span_count), 0)::int AS span_count,
       (SELECT count(*)::int FROM spans s JOIN traces t ON t.id = s.trace_id WHERE t.project_id = $1 AND t.external_id LIKE $2) AS spans
     FROM traces WHERE project_id = $1 AND external_id LIKE $2`,
    [projectId, `${prefix}%`],
  );
  return r.rows[0];
}

// ───────────────────────────── run ─────────────────────────────

function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function main() {
  const opts = settings();
  const log = (line) => process.stderr.write(`${line}\n`);
  const runId = crypto.randomBytes(6).toString('hex'); // 12 hex
  const prefixes = {
    ours: `${runId}a1`,
    unnest: `${runId}b2`,
    copy: `${runId}c3`,
    rules: `${runId}d4`,
    plain: `${runId}e5`,
  };
  const dbName = `evalgraph_bench_ingest_${runId}`;
  const dbUrl = withDatabase(opts.pgUrl, dbName);
  const apiKey = crypto.randomBytes(32).toString('base64url');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalgraph-bench-ingest-'));
  // Spans start a few hours back; batch n starts n seconds later (the server refuses > now + 24 h).
  const baseMs = Math.floor((Date.now() - 6 * 3600_000) / 1000) * 1000;

  let server = null;
  let plainServer = null;
  let pool = null;
  let dbCreated = false;
  let cleaned = null;
  const cleanup = () => {
    cleaned =
      cleaned ||
      (async () => {
        const out = {};
        if (server) {
          const s = server;
          server = null;
          const exit = await s.stop();
          out.server = { exit: describeExit(exit), killed: Boolean(s.killed) };
        }
        if (plainServer) {
          const s = plainServer;
          plainServer = null;
          const exit = await s.stop();
          out.plainServer = { exit: describeExit(exit), killed: Boolean(s.killed) };
        }
        // A batch still in flight (Ctrl-C) holds a client; DROP … WITH (FORCE) ends it anyway.
        if (pool) await Promise.race([pool.end().catch(() => {}), sleep(5_000)]);
        if (dbCreated) {
          const admin = new pg.Client({ connectionString: opts.pgUrl });
          try {
            await admin.connect();
            await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
            out.databaseDropped = true;
          } catch (e) {
            log(`warning: could not drop database ${dbName}: ${e.message}`);
            out.databaseDropped = false;
          } finally {
            await admin.end().catch(() => {});
          }
        }
        fs.rmSync(dataDir, { recursive: true, force: true });
        return out;
      })();
    return cleaned;
  };
  let interrupted = false;
  const onSignal = () => {
    interrupted = true; // runs failing as the server stops are not worth a line
    cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const admin = new pg.Client({ connectionString: opts.pgUrl });
    await admin.connect();
    let pgVersion;
    let autovacuum;
    try {
      pgVersion = (await admin.query('SHOW server_version')).rows[0].server_version;
      autovacuum = (await admin.query('SHOW autovacuum')).rows[0].autovacuum;
      await admin.query(`CREATE DATABASE "${dbName}"`);
      dbCreated = true;
    } finally {
      await admin.end();
    }
    // The statements our ingest reads with are planned from table statistics. A server without
    // autovacuum never gathers them for the fresh tables: stand in for it, outside the timed runs.
    const analyze = opts.analyze === 'always' || (opts.analyze === 'auto' && autovacuum !== 'on');
    const statistics = analyze
      ? `ANALYZE traces, spans before each round${opts.analyze === 'auto' ? ' (autovacuum is off)' : ''}`
      : `no ANALYZE by the benchmark (autovacuum ${autovacuum})`;
    log(`database ${dbName} (Postgres ${pgVersion}, ${statistics}); starting ours…`);

    const port = await freePort();
    const env = {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: dbUrl,
      EVALGRAPH_DATA_DIR: dataDir,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'warn',
      NODE_ENV: opts.nodeEnv,
      EVALGRAPH_INIT_ADMIN_EMAIL: 'bench@example.com', // zod's email() refuses a dotless domain (bench@local)
      EVALGRAPH_INIT_PROJECT: 'bench',
      EVALGRAPH_INIT_API_KEY: apiKey,
    };
    delete env.REDIS_URL;
    if (process.env.BENCH_REDIS_URL) env.REDIS_URL = process.env.BENCH_REDIS_URL;
    server = await startServer({
      name: 'ours',
      command: path.join(root, 'node_modules', '.bin', 'tsx'),
      args: ['src/cli.ts', 'serve'],
      cwd: root,
      env,
      timeoutMs: 90_000, // migrates the fresh database first
      ready: getOk(`http://127.0.0.1:${port}/health/ready`),
    });
    const oursServer = server;
    log(`ours ready in ${(server.startMs / 1000).toFixed(1)} s on port ${port}`);
    // The same server without rollups, on the same (already migrated) database and API key.
    const plainPort = await freePort();
    plainServer = await startServer({
      name: 'plain',
      command: path.join(root, 'node_modules', '.bin', 'tsx'),
      args: ['src/cli.ts', 'serve'],
      cwd: root,
      env: { ...env, PORT: String(plainPort), EVALGRAPH_ROLLUPS: 'false' },
      timeoutMs: 90_000,
      ready: getOk(`http://127.0.0.1:${plainPort}/health/ready`),
    });
    const plain = plainServer;
    log(`plain (EVALGRAPH_ROLLUPS=false) ready on port ${plainPort}`);

    pool = new pg.Pool({ connectionString: dbUrl, max: Math.max(...opts.concurrency) * 2 });
    // Dropping the database at the end terminates idle pool connections: not an error here.
    pool.on('error', () => {});
    let projectId = null;
    for (let i = 0; i < 25 && !projectId; i++) {
      const r = await pool.query(`SELECT id::text FROM projects WHERE name = 'bench'`);
      projectId = r.rows[0]?.id;
      if (!projectId) await sleep(200);
    }
    if (!projectId) throw new Error('project "bench" was not created by the server');
    const projectGid = Buffer.from(`Project:${projectId}`).toString('base64');
    const withRules = opts.rules > 0 ? await rulesProject(port, apiKey, opts) : null;
    if (withRules)
      log(
        `rules    project "bench-rules" with ${opts.rules} enabled online evaluation rules (rate ${opts.ruleRate}, delay ${opts.ruleDelay} s)`,
      );

    const targets = [
      { name: 'ours', send: oursTarget({ port, apiKey, projectGid }), projectId },
      { name: 'plain', send: oursTarget({ port: plainPort, apiKey, projectGid }), projectId },
      ...(withRules
        ? [
            {
              name: 'rules',
              send: oursTarget({ port, apiKey, projectGid: withRules.gid }),
              projectId: withRules.id,
            },
          ]
        : []),
      { name: 'unnest', send: unnestTarget({ pool, projectId }), projectId },
      { name: 'copy', send: copyTarget({ pool, projectId }), projectId },
    ].map((t) => ({ ...t, prefix: prefixes[t.name], nextSeq: 0, written: 0 }));
    const alive = () => {
      for (const [name, s] of [
        ['ours', oursServer],
        ['plain', plain],
      ])
        if (s.exited)
          throw new Error(
            `${name} exited during the benchmark (${describeExit(s.exited)})\n${s.tail.join('\n')}`,
          );
    };

    // Batch 0 of each, then the stored rows must match.
    for (const t of targets) {
      await t.send(makeBatch(t.prefix, t.nextSeq++, opts.batchSize, baseMs)).catch((e) => {
        throw new Error(`${t.name}: first batch failed: ${e.message}`);
      });
      t.written += opts.batchSize;
    }
    const checked = await compareFirstBatch(pool, projectId, prefixes);
    log(
      `check    batch 0: baselines stored the same ${checked.traces} traces and ${checked.spans} spans as ours`,
    );

    const drivenBy = (concurrency, seconds) => ({
      concurrency,
      seconds,
      batchSize: opts.batchSize,
      baseMs,
    });
    if (opts.warmup > 0) {
      const c = Math.max(...opts.concurrency);
      for (const t of targets) {
        alive();
        const r = await drive(t, drivenBy(c, opts.warmup));
        if (r.failure) throw new Error(`${t.name}: warm-up failed: ${r.failure}`);
        log(
          `warm-up  ${t.name.padEnd(6)} ${opts.warmup} s x${c}  ${fmt(r.spansPerSec, 0)} spans/s`,
        );
      }
    }

    // results[concurrency][target] = runs
    const results = new Map(
      opts.concurrency.map((c) => [c, new Map(targets.map((t) => [t.name, []]))]),
    );
    const maxRounds = opts.runs + opts.extraRounds;
    for (let round = 1; round <= maxRounds; round++) {
      const due = opts.concurrency.some((c) =>
        [...results.get(c).values()].some((runs) => runs.filter((r) => r.valid).length < opts.runs),
      );
      if (!due) break;
      if (analyze) {
        const t = performance.now();
        await pool.query('ANALYZE traces, spans');
        log(
          `analyze  traces, spans in ${((performance.now() - t) / 1000).toFixed(1)} s (not timed)`,
        );
      }
      for (const c of opts.concurrency) {
        for (const t of targets) {
          const runs = results.get(c).get(t.name);
          if (runs.filter((r) => r.valid).length >= opts.runs) continue;
          alive();
          const r = await drive(t, drivenBy(c, opts.duration));
          const run = { round, ...r, valid: !r.failure && r.spans > 0 };
          if (!run.valid) run.reason = r.failure || 'no batch completed';
          runs.push(run);
          if (interrupted) return 130;
          log(
            `round ${round}  x${String(c).padEnd(2)} ${t.name.padEnd(6)} ${fmt(r.spansPerSec, 0).padStart(7)} spans/s  ` +
              `batch p50 ${fmt(r.p50, 1)} ms  p99 ${fmt(r.p99, 1)} ms  (${r.batches} batches)  ` +
              (run.valid ? 'ok' : `DISCARDED (${run.reason.slice(0, 300)})`),
          );
        }
      }
    }
    alive();

    const stored = {};
    for (const t of targets) {
      stored[t.name] = { reported: t.written, ...(await countStored(pool, t.projectId, t.prefix)) };
      const s = stored[t.name];
      if (s.spans !== t.written || s.span_count !== t.written) {
        throw new Error(
          `${t.name}: ${t.written} spans reported written, ${s.spans} stored (trace span_count sum ${s.span_count})`,
        );
      }
    }
    log(
      `stored   ${targets.map((t) => `${t.name} ${stored[t.name].spans} spans`).join(', ')}: all accounted for`,
    );
    // Only ours maintains the rollups (plain and the baselines write none): they count its spans.
    const rolled = Number(
      (
        await pool.query(
          `SELECT COALESCE(sum(spans), 0)::text AS n FROM span_rollups
           WHERE project_id = $1 AND grain = 'DAY' AND NOT by_user`,
          [projectId],
        )
      ).rows[0].n,
    );
    const oursWritten = targets.find((t) => t.name === 'ours').written;
    if (rolled !== oursWritten)
      throw new Error(
        `rollups count ${rolled} spans, ours wrote ${oursWritten} (plain wrote none)`,
      );
    log(`rollups  count the ${rolled} spans of ours, none of plain`);
    const queued = withRules
      ? (
          await pool.query(
            'SELECT count(*)::int AS n FROM online_evaluation_tasks WHERE project_id = $1',
            [withRules.id],
          )
        ).rows[0].n
      : null;
    if (withRules) log(`rules    ${queued} traces and spans sampled and queued by the rules`);

    const summaries = opts.concurrency.map((c) => ({
      concurrency: c,
      targets: targets.map((t) => summarize(t.name, results.get(c).get(t.name))),
    }));
    const ratioRows = summaries.flatMap(({ concurrency, targets: s }) =>
      [
        ['ours', 'plain'],
        ['ours', 'unnest'],
        ['plain', 'unnest'],
        ['ours', 'copy'],
        ['unnest', 'copy'],
        ...(withRules ? [['rules', 'ours']] : []),
      ].map(([a, b]) =>
        ratioRow(
          concurrency,
          s.find((x) => x.name === a),
          s.find((x) => x.name === b),
        ),
      ),
    );
    const stopped = await cleanup();

    process.stdout.write(report({ opts, pgVersion, statistics, summaries, ratioRows }));
    const file = harness.writeResults('ingest', {
      mutation: MUTATION,
      ours: 'tsx src/cli.ts serve',
      database: `postgres ${pgVersion}`,
      autovacuum,
      statistics,
      redis: Boolean(process.env.BENCH_REDIS_URL),
      settings: { ...opts, pgUrl: undefined, spansPerTrace: SPANS_PER_TRACE },
      firstBatchCheck: checked,
      stored,
      rules: withRules ? { count: opts.rules, queued } : null,
      summaries,
      ratios: ratioRows,
      stopped,
    });
    process.stdout.write(`results: ${path.relative(root, file)}\n`);
    if (stopped.server?.killed) log('warning: ours ignored SIGTERM for 15 s and was killed');
    return summaries.every((s) => s.targets.every((t) => t.valid > 0)) ? 0 : 1;
  } finally {
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/** A second project with `opts.rules` enabled online evaluation rules; its id and global id. */
async function rulesProject(port, apiKey, opts) {
  const url = `http://127.0.0.1:${port}`;
  const created = await gql(
    url,
    apiKey,
    'mutation { createProject(input: { name: "bench-rules" }) { project { id } } }',
  );
  const gid = created.createProject.project.id;
  for (let i = 0; i < opts.rules; i++)
    await gql(url, apiKey, CREATE_RULE, {
      input: ruleInput(gid, i, { rate: opts.ruleRate, delaySeconds: opts.ruleDelay }),
    });
  const id = Buffer.from(gid, 'base64').toString().split(':')[1];
  return { id, gid };
}

function summarize(name, runs) {
  const valid = runs.filter((r) => r.valid);
  const med = (k) => harness.median(valid.map((r) => r[k]));
  return {
    name,
    runs,
    valid: valid.length,
    spansPerSec: med('spansPerSec'),
    p50: med('p50'),
    p99: med('p99'),
  };
}

function ratioRow(concurrency, a, b) {
  const perRound = a.runs
    .filter((r) => r.valid)
    .map((r) => [r, b.runs.find((s) => s.valid && s.round === r.round)])
    .filter(([, s]) => s)
    .map(([r, s]) => r.spansPerSec / s.spansPerSec);
  return {
    concurrency,
    target: a.name,
    baseline: b.name,
    spansPerSec: harness.ratio(a.spansPerSec, b.spansPerSec),
    p50: harness.ratio(a.p50, b.p50),
    p99: harness.ratio(a.p99, b.p99),
    perRound,
  };
}

function fmt(n, digits) {
  return n == null ? 'n/a' : n.toFixed(digits);
}

function report({ opts, pgVersion, statistics, summaries, ratioRows }) {
  const x = (n) => (n == null ? 'n/a' : `${n.toFixed(2)}x`);
  const goal = (baseline, line) =>
    ratioRows
      .filter((r) => r.target === 'ours' && r.baseline === baseline)
      .map(
        (r) =>
          `x${r.concurrency} ${r.spansPerSec != null && r.spansPerSec >= line ? 'met' : 'NOT met'} (${x(r.spansPerSec)})`,
      )
      .join(', ');
  return [
    '',
    `ingest: ingestSpans (ours; plain: ours with EVALGRAPH_ROLLUPS=false) vs pg unnest vs pg COPY into the same Postgres ${pgVersion} tables`,
    `batches of ${opts.batchSize} spans (${opts.batchSize / SPANS_PER_TRACE} traces x ${SPANS_PER_TRACE}), one transaction each; ` +
      `${opts.runs} runs x ${opts.duration} s per target and concurrency, interleaved; medians of valid runs`,
    `ours with NODE_ENV=${opts.nodeEnv}; ${statistics}`,
    '',
    harness.table([
      ['clients', 'target', 'runs', 'spans/s', 'batch p50 ms', 'batch p99 ms'],
      ...summaries.flatMap(({ concurrency, targets }) =>
        targets.map((s) => [
          concurrency,
          s.name,
          `${s.valid}/${s.runs.length}`,
          fmt(s.spansPerSec, 0),
          fmt(s.p50, 1),
          fmt(s.p99, 1),
        ]),
      ),
    ]),
    '',
    'ratios (spans/s: higher is better; batch p50 and p99: lower is better)',
    harness.table([
      ['clients', 'target / baseline', 'spans/s', 'batch p50', 'batch p99', 'spans/s per round'],
      ...ratioRows.map((r) => [
        r.concurrency,
        `${r.target} / ${r.baseline}`,
        x(r.spansPerSec),
        x(r.p50),
        x(r.p99),
        r.perRound.length ? r.perRound.map((v) => v.toFixed(2)).join(' ') : 'n/a',
      ]),
    ]),
    '',
    `target ours / plain >= 0.90x (the cost of rollups): ${goal('plain', 0.9)}`,
    `target ours / unnest >= 0.60x: ${goal('unnest', 0.6)}`,
    ...(opts.rules > 0
      ? [
          `target rules / ours >= 0.90x (${opts.rules} rules): ${ratioRows
            .filter((r) => r.target === 'rules')
            .map(
              (r) =>
                `x${r.concurrency} ${r.spansPerSec != null && r.spansPerSec >= 0.9 ? 'met' : 'NOT met'} (${x(r.spansPerSec)})`,
            )
            .join(', ')}`,
        ]
      : []),
    '',
  ].join('\n');
}

module.exports = main;
// For ad-hoc profiling scripts: the same batches and baseline rows as the benchmark.
Object.assign(main, { makeBatch, toRows, unnestTarget, copyTarget, MUTATION });
if (require.main === module)
  main().then(
    (code) => process.exit(code),
    (e) => (console.error(e.message || e), process.exit(1)),
  );
