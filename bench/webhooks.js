'use strict';
// Webhook delivery: (1) throughput: after a warm-up round of BENCH_HOOK_WARMUP (2,000) messages
// each, not counted, in each of BENCH_RUNS rounds, BENCH_HOOK_MESSAGES (5,000) messages written to
// the outbox at once, spread over BENCH_HOOK_ENDPOINTS (4) endpoints, and the worker woken as the
// event emitter wakes it (by one more message, through sendTestWebhook: the rows written here are
// not announced, and a worker not woken finds them only at its next idle poll, up to 1 s later),
// delivered by our worker to a local receiver, as deliveries/s; then the baseline: the same bodies
// signed and POSTed straight from this process to the same endpoints' URLs with the same limits
// (PER_ENDPOINT in flight per endpoint, as our fairness cap allows; no database, no queue).
// (2) latency: messages sent one by one through the API (sendTestWebhook) at BENCH_HOOK_RATE (20)
// per second, from the message's creation in the outbox (its `timestamp`) to its receipt, p50/p99.
const { envCount, envNumber, median } = require('./lib/settings');
const crypto = require('node:crypto');
const http = require('node:http');
const pg = require('pg');
const { startOurs, describeExit, sleep } = require('./lib/servers');
const { gql, withDatabase } = require('./lib/graphql');
const { groupCpuMs, commandCpuMs } = require('./lib/proc-cpu');

// Our worker's slots, and its per-endpoint cap (EVALGRAPH_WEBHOOK_ENDPOINT_CONCURRENCY's default):
// with 4 endpoints every slot can be busy, so the figure is the pipeline's cost, not the cap.
const CONCURRENCY = 16;
const PER_ENDPOINT = 4;

function settings() {
  const endpoints = envCount('BENCH_HOOK_ENDPOINTS', 4);
  if (endpoints * PER_ENDPOINT > CONCURRENCY)
    throw new Error(`BENCH_HOOK_ENDPOINTS: at most ${CONCURRENCY / PER_ENDPOINT}`);
  return {
    messages: envCount('BENCH_HOOK_MESSAGES', 5000),
    warmup: envNumber('BENCH_HOOK_WARMUP', 2000, { min: 0, whole: true }),
    endpoints,
    runs: envCount('BENCH_RUNS', 3),
    rate: envCount('BENCH_HOOK_RATE', 20),
    paced: envCount('BENCH_HOOK_PACED', 100),
    pgUrl: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  };
}

const pct = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** One receiver for every endpoint: endpoint i is the path /hook/i. */
function startReceiver() {
  const received = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({
        at: Date.now(),
        endpoint: Number(req.url.split('/')[2]),
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: (i) => `http://127.0.0.1:${server.address().port}/hook/${i}`,
        received,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(r);
          }),
      }),
    ),
  );
}

const until = async (predicate, timeoutMs) => {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await sleep(20);
  }
};

/**
 * What our worker does per message, minus the queue: sign and POST. `sends` are { url, secret,
 * body }; each URL gets PER_ENDPOINT at a time, as our cap allows. A new connection per request,
 * as our worker makes (`agent: false`: each connection's address is checked, see send.ts).
 */
async function directSend(sends) {
  const agent = new http.Agent({ keepAlive: false });
  const send = ({ url, secret, body }) =>
    new Promise((resolve, reject) => {
      const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
      const id = `msg_${crypto.randomUUID().replace(/-/g, '')}`;
      const ts = Math.floor(Date.now() / 1000);
      const signature = `v1,${crypto.createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`;
      const req = http.request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'webhook-id': id,
            'webhook-timestamp': String(ts),
            'webhook-signature': signature,
          },
        },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const byUrl = new Map();
  for (const s of sends) {
    if (!byUrl.has(s.url)) byUrl.set(s.url, []);
    byUrl.get(s.url).push(s);
  }
  await Promise.all(
    [...byUrl.values()].flatMap((queue) => {
      let next = 0;
      return Array.from({ length: PER_ENDPOINT }, async () => {
        while (next < queue.length) await send(queue[next++]);
      });
    }),
  );
}

/** CPU so far of: our server's processes, Postgres's, and this process (the receiver, and the direct sender). */
function cpuNow(server) {
  const self = process.cpuUsage();
  return {
    server: server ? groupCpuMs(server.child.pid) : null,
    postgres: commandCpuMs('postgres'),
    bench: (self.user + self.system) / 1000,
  };
}

/** CPU ms per delivery of each since `start`. */
function cpuSince(start, server, deliveries) {
  const end = cpuNow(server);
  const per = (k) => (start[k] == null || end[k] == null ? null : (end[k] - start[k]) / deliveries);
  return { server: per('server'), postgres: per('postgres'), bench: per('bench') };
}

const describeCpu = (c) =>
  Object.entries(c)
    .filter(([, v]) => v != null)
    .map(([k, v]) => `${k === 'bench' ? 'this process' : k} ${v.toFixed(3)}`)
    .join(', ');

module.exports = async function webhooks() {
  const opts = settings();
  const receiver = await startReceiver();
  const dbName = `evalgraph_bench_hooks_${crypto.randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: opts.pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  let server = null;
  const db = new pg.Pool({ connectionString: withDatabase(opts.pgUrl, dbName), max: 2 });
  // The database is dropped at the end with its connections (FORCE): an idle one reports that.
  db.on('error', () => {});
  try {
    const key = `evg_bench_${crypto.randomBytes(24).toString('base64url')}`;
    let url;
    ({ server, url } = await startOurs({
      databaseUrl: withDatabase(opts.pgUrl, dbName),
      key,
      env: {
        EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
        EVALGRAPH_WEBHOOK_CONCURRENCY: String(CONCURRENCY),
      },
    }));
    const projectId = (await gql(url, key, '{ projects { edges { node { id } } } }')).projects
      .edges[0].node.id;
    const endpoints = [];
    for (let i = 0; i < opts.endpoints; i++) {
      const created = await gql(
        url,
        key,
        'mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret webhookEndpoint { id } } }',
        { input: { projectId, url: receiver.url(i), events: ['webhook.test'] } },
      );
      const { secret, webhookEndpoint } = created.createWebhookEndpoint;
      endpoints.push({
        id: webhookEndpoint.id,
        raw: Buffer.from(webhookEndpoint.id, 'base64').toString().split(':')[1],
        url: receiver.url(i),
        secret,
      });
    }
    const rawProject = Buffer.from(projectId, 'base64').toString().split(':')[1];

    // (1) Throughput: the outbox filled in one statement (rows as the event emitter writes them,
    // message n to endpoint n mod E) and one message more through the API, which wakes the worker
    // as the emitter does; then drained by the worker; then the same bodies sent direct.
    const wake = () =>
      gql(
        url,
        key,
        'mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { messageId } }',
        { input: { id: endpoints[0].id } },
      );
    const body = JSON.stringify({
      type: 'webhook.test',
      timestamp: new Date().toISOString(),
      data: { message: 'x'.repeat(400) },
    });
    const rounds = [];
    let bodies = [];
    // Round 0 warms both up (JIT, connections to Postgres) and is not counted, as the other
    // benches' BENCH_WARMUP seconds are not.
    for (let round = opts.warmup ? 0 : 1; round <= opts.runs; round++) {
      const written = round === 0 ? opts.warmup : opts.messages;
      const messages = written + 1; // and the one that wakes the worker
      receiver.received.length = 0;
      await db.query(
        `WITH m AS (
           INSERT INTO webhook_messages (id, project_id, event_type, payload, created_at)
           SELECT 'msg_' || replace(evalgraph_uuid7()::text, '-', ''), $1::uuid, 'webhook.test', $2::jsonb::text, clock_timestamp() FROM generate_series(1, $4)
           RETURNING id)
         INSERT INTO webhook_deliveries (id, message_id, endpoint_id, next_attempt_at, created_at)
         SELECT evalgraph_uuid7(), id, ($3::uuid[])[1 + (row_number() OVER () % cardinality($3::uuid[]))], clock_timestamp(), clock_timestamp() FROM m`,
        [rawProject, body, endpoints.map((e) => e.raw), written],
      );
      const enqueuedAt = Date.now();
      const cpu = cpuNow(server);
      await wake();
      await until(() => receiver.received.length >= messages, 300_000);
      const ours = messages / ((receiver.received[messages - 1].at - enqueuedAt) / 1000);
      const oursCpu = cpuSince(cpu, server, messages);
      const sends = receiver.received
        .slice(0, messages)
        .map((r) => ({ ...endpoints[r.endpoint], body: r.body }));
      bodies = sends.map((s) => s.body);
      await sleep(200); // stragglers (none expected) land before the count is reset
      receiver.received.length = 0;
      const t0 = Date.now();
      const directStart = cpuNow(null);
      await directSend(sends);
      const direct = messages / ((Date.now() - t0) / 1000);
      const directCpu = cpuSince(directStart, null, messages);
      if (round === 0) {
        console.log(`warm-up: ${messages} messages each, not counted`);
        continue;
      }
      rounds.push({ ours, direct, ratio: ours / direct, oursCpu, directCpu });
      console.log(
        `round ${round}: ours ${ours.toFixed(0)} deliveries/s   direct ${direct.toFixed(0)}/s   ours / direct ${(ours / direct).toFixed(2)}x   CPU ms/delivery: ours ${describeCpu(oursCpu)}; direct ${describeCpu(directCpu)}`,
      );
    }
    receiver.received.length = 0;

    // (2) Latency: one message at a time through the API, at a steady rate.
    const [first] = endpoints;
    for (let i = 0; i < opts.paced; i++) {
      await gql(
        url,
        key,
        'mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { messageId } }',
        { input: { id: first.id } },
      );
      await sleep(1000 / opts.rate);
    }
    await until(() => receiver.received.length >= opts.paced, 60_000);
    const latencies = receiver.received
      .map((r) => r.at - Date.parse(JSON.parse(r.body).timestamp))
      .sort((a, b) => a - b);
    receiver.received.length = 0;
    const direct = [];
    for (let i = 0; i < opts.paced; i++) {
      const t = Date.now();
      await directSend([{ ...first, body: bodies[i] }]);
      direct.push(Date.now() - t);
      await sleep(1000 / opts.rate);
    }
    direct.sort((a, b) => a - b);

    const [{ delivered }] = (
      await db.query(
        `SELECT count(*)::int AS delivered FROM webhook_deliveries WHERE status = 'DELIVERED'`,
      )
    ).rows;
    // Each round's messages, and its one through the API.
    const woken = opts.runs + (opts.warmup ? 1 : 0);
    const total = opts.runs * opts.messages + opts.warmup + woken + opts.paced;
    console.log(
      `\nwebhooks: Postgres outbox → worker (${CONCURRENCY} slots, ${PER_ENDPOINT} per endpoint) → ${opts.endpoints} endpoints on a local receiver answering 204; baseline: sign + POST from this process, ${PER_ENDPOINT} in flight per endpoint\n`,
    );
    console.log(
      `throughput (${opts.messages} messages enqueued at once and 1 through the API, ${opts.runs} rounds): ours ${median(rounds.map((r) => r.ours)).toFixed(0)} deliveries/s   direct ${median(rounds.map((r) => r.direct)).toFixed(0)}/s   ours / direct ${median(rounds.map((r) => r.ratio)).toFixed(2)}x (median; per round ${rounds.map((r) => r.ratio.toFixed(2)).join(', ')})`,
    );
    console.log(
      `latency (${opts.paced} messages at ${opts.rate}/s through sendTestWebhook), outbox → receipt:  ours p50 ${pct(latencies, 50)} ms, p99 ${pct(latencies, 99)} ms;  direct POST p50 ${pct(direct, 50)} ms, p99 ${pct(direct, 99)} ms`,
    );
    console.log(`deliveries stored DELIVERED: ${delivered} of ${total}`);
    return delivered === total ? 0 : 1;
  } catch (error) {
    if (server?.exited)
      process.stderr.write(
        `ours exited: ${describeExit(server.exited)}\n${server.tail.join('\n')}\n`,
      );
    throw error;
  } finally {
    if (server) await server.stop();
    await receiver.close();
    await db.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
};
