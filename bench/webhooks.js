'use strict';
// Webhook delivery: (1) throughput: BENCH_HOOK_MESSAGES (5,000) messages written to the outbox at
// once, delivered by our worker to a local receiver, as deliveries/s; (2) latency: messages sent
// one by one through the API (sendTestWebhook) at BENCH_HOOK_RATE (20) per second, from the
// message's creation in the outbox (its `timestamp`) to its receipt, p50/p99. Baseline in the
// same run: the same bodies signed and POSTed straight from this process to the same receiver at
// the same concurrency (no database, no queue).
const { envCount } = require('./lib/settings');
const crypto = require('node:crypto');
const http = require('node:http');
const pg = require('pg');
const { startOurs, describeExit, sleep } = require('./lib/servers');
const { gql, withDatabase } = require('./lib/graphql');

const CONCURRENCY = 16;

function settings() {
  return {
    messages: envCount('BENCH_HOOK_MESSAGES', 5000),
    rate: envCount('BENCH_HOOK_RATE', 20),
    paced: envCount('BENCH_HOOK_PACED', 100),
    pgUrl: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  };
}

const pct = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

function startReceiver() {
  const received = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({
        at: Date.now(),
        id: req.headers['webhook-id'],
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/hook`,
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

/** What our worker does per message, minus the queue: sign and POST, CONCURRENCY at a time. */
async function directSend(url, secret, bodies) {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const agent = new http.Agent({ keepAlive: false });
  let next = 0;
  const send = (body) =>
    new Promise((resolve, reject) => {
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
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < bodies.length) await send(bodies[next++]);
    }),
  );
}

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
    const created = await gql(
      url,
      key,
      'mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret webhookEndpoint { id } } }',
      { input: { projectId, url: receiver.url, events: ['webhook.test'] } },
    );
    const { secret, webhookEndpoint } = created.createWebhookEndpoint;
    const endpointId = Buffer.from(webhookEndpoint.id, 'base64').toString().split(':')[1];
    const rawProject = Buffer.from(projectId, 'base64').toString().split(':')[1];

    // (1) Throughput: the outbox filled in one statement (rows as the event emitter writes them),
    // then drained by the worker.
    const body = JSON.stringify({
      type: 'webhook.test',
      timestamp: new Date().toISOString(),
      data: { message: 'x'.repeat(400) },
    });
    await db.query(
      `WITH m AS (
         INSERT INTO webhook_messages (id, project_id, event_type, payload, created_at)
         SELECT 'msg_' || replace(evalgraph_uuid7()::text, '-', ''), $1::uuid, 'webhook.test', $2::jsonb::text, clock_timestamp() FROM generate_series(1, $4)
         RETURNING id)
       INSERT INTO webhook_deliveries (id, message_id, endpoint_id, next_attempt_at, created_at)
       SELECT evalgraph_uuid7(), id, $3::uuid, clock_timestamp(), clock_timestamp() FROM m`,
      [rawProject, body, endpointId, opts.messages],
    );
    const enqueuedAt = Date.now();
    await until(() => receiver.received.length >= opts.messages, 300_000);
    const oursRate =
      opts.messages / ((receiver.received[opts.messages - 1].at - enqueuedAt) / 1000);
    const bodies = receiver.received.slice(0, opts.messages).map((r) => r.body);
    receiver.received.length = 0;
    const t0 = Date.now();
    await directSend(receiver.url, secret, bodies);
    const baseRate = opts.messages / ((Date.now() - t0) / 1000);
    receiver.received.length = 0;

    // (2) Latency: one message at a time through the API, at a steady rate.
    for (let i = 0; i < opts.paced; i++) {
      await gql(
        url,
        key,
        'mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { messageId } }',
        { input: { id: webhookEndpoint.id } },
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
      await directSend(receiver.url, secret, [bodies[i]]);
      direct.push(Date.now() - t);
      await sleep(1000 / opts.rate);
    }
    direct.sort((a, b) => a - b);

    const [{ delivered }] = (
      await db.query(
        `SELECT count(*)::int AS delivered FROM webhook_deliveries WHERE status = 'DELIVERED'`,
      )
    ).rows;
    console.log(
      `\nwebhooks: Postgres outbox → worker (concurrency ${CONCURRENCY}) → local receiver answering 204; baseline: sign + POST from this process, same concurrency\n`,
    );
    console.log(
      `throughput (${opts.messages} messages enqueued at once):  ours ${oursRate.toFixed(0)} deliveries/s   direct ${baseRate.toFixed(0)}/s   ours / direct ${(oursRate / baseRate).toFixed(2)}x`,
    );
    console.log(
      `latency (${opts.paced} messages at ${opts.rate}/s through sendTestWebhook), outbox → receipt:  ours p50 ${pct(latencies, 50)} ms, p99 ${pct(latencies, 99)} ms;  direct POST p50 ${pct(direct, 50)} ms, p99 ${pct(direct, 99)} ms`,
    );
    console.log(`deliveries stored DELIVERED: ${delivered} of ${opts.messages + opts.paced}`);
    return delivered === opts.messages + opts.paced ? 0 : 1;
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
