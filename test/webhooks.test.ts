// Webhooks through HTTP with a real receiver, verified by the official `standardwebhooks` package:
// endpoints (secret once, SSRF refusals), evaluation and batch events from the outbox, retries with
// the same webhook-id, 410, exhaustion and redelivery, rotation, test messages, stats, roles.
import { Webhook } from 'standardwebhooks';
import { createTestApp, globalId, type TestApp } from './support/app';
import { emitAlert } from '../src/modules/alerts/events';
import { createEvaluation, waitFor } from './support/evaluations';
import { judgeEnv, startFakeLlm, type FakeLlm } from './support/fake-llm';
import { until } from './support/live';
import { startReceiver, type Receiver } from './support/receiver';

let app: TestApp;
let receiver: Receiver;
let fake: FakeLlm;

beforeAll(async () => {
  receiver = await startReceiver();
  fake = await startFakeLlm();
  app = await createTestApp({
    EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    EVALGRAPH_WEBHOOK_RETRY_SCHEDULE_MS: '0,100,200',
    ...judgeEnv(fake),
    EVALGRAPH_JUDGE_MAX_RETRIES: '0',
    EVALGRAPH_EVAL_CONCURRENCY: '2',
  });
});
beforeEach(() => {
  receiver.received.length = 0;
  receiver.answer = () => ({ status: 200 });
});
// Each test's endpoints stop receiving after it, even when it failed halfway.
afterEach(() => app.server.deps.db.query(`UPDATE webhook_endpoints SET enabled = false`));
afterAll(async () => {
  await app.close();
  await receiver.close();
  await fake.close();
});

const CREATE = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret webhookEndpoint { id url events enabled secrets { prefix expiresAt } } } }`;
const ENDPOINT = `query($id: ID!) { webhookEndpoint(id: $id) { enabled disabledReason failingSince stats { delivered failed pending successRate p95LatencyMs } } }`;
const DELIVERIES = `query($id: ID!, $filter: WebhookDeliveryFilter) { webhookDeliveries(endpointId: $id, first: 50, filter: $filter) { edges { node {
  status attempts lastStatusCode message { id eventType payload } attemptLog { statusCode error latencyMs responseSnippet } } } } }`;
const regex = [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'a' }];

async function createEndpoint(
  events: string[],
  options: { projectId?: string; url?: string; key?: string } = {},
) {
  const res = await app.gql(
    CREATE,
    {
      input: {
        projectId: globalId('Project', options.projectId ?? app.projectId),
        url: options.url ?? receiver.url,
        events,
      },
    },
    { key: options.key },
  );
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  const { secret, webhookEndpoint } = res.body.data.createWebhookEndpoint;
  return { secret: secret as string, id: webhookEndpoint.id as string, endpoint: webhookEndpoint };
}

/** Each received message verified with `secret`; returns the payloads. */
function verified(secret: string, received = receiver.received) {
  return received.map(
    (r) => new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as any,
  );
}

async function deliveries(id: string, filter?: Record<string, unknown>) {
  const res = await app.gql(DELIVERIES, { id, filter });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.webhookDeliveries.edges.map((e: any) => e.node);
}

async function disable(id: string) {
  await app.gql(
    `mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { webhookEndpoint { enabled } } }`,
    { input: { id, enabled: false } },
  );
}

describe('endpoints', () => {
  it('show the secret once, at creation', async () => {
    const { secret, id, endpoint } = await createEndpoint(['webhook.test']);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    expect(endpoint).toMatchObject({
      url: receiver.url,
      events: ['webhook.test'],
      enabled: true,
      secrets: [{ prefix: `${secret.slice(0, 10)}…`, expiresAt: null }],
    });
    const read = await app.gql(
      `query($id: ID!) { webhookEndpoint(id: $id) { secrets { prefix } } }`,
      { id },
    );
    expect(JSON.stringify(read.body)).not.toContain(secret);
    await disable(id);
  });

  it.each([
    ['http://127.0.0.2:9/hook', 'loopback'],
    ['http://10.0.0.1/hook', 'private'],
    ['http://169.254.169.254/latest/meta-data', 'linkLocal'],
    ['http://[::1]:9/hook', 'loopback'],
    ['ftp://example.com/hook', 'only http and https'],
    ['http://user:pw@127.0.0.1/hook', 'credentials'],
  ])('refuse %s (BAD_USER_INPUT)', async (url, why) => {
    const res = await app.gql(CREATE, {
      input: { projectId: globalId('Project', app.projectId), url, events: ['webhook.test'] },
    });
    expect(res.body.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'url'],
    });
    expect(res.body.errors?.[0].message).toContain(why);
  });

  it('refuse unknown events and empty lists', async () => {
    for (const events of [['evaluation.finished'], []]) {
      const res = await app.gql(CREATE, {
        input: { projectId: globalId('Project', app.projectId), url: receiver.url, events },
      });
      expect(res.body.errors?.[0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        path: ['input', 'events'],
      });
    }
  });

  it('are refused at connect time when the address is forbidden (no request is made)', async () => {
    const { id } = await createEndpoint(['webhook.test']);
    const raw = Buffer.from(id, 'base64').toString().split(':')[1];
    // As if its name had come to resolve to a private address after it was saved.
    await app.server.deps.db.query(
      `UPDATE webhook_endpoints SET url = 'http://10.255.255.1:9/hook' WHERE id = $1::uuid`,
      [raw],
    );
    await app.gql(
      `mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { messageId } }`,
      { input: { id } },
    );
    await until(
      async () => (await deliveries(id))[0]?.attemptLog.length >= 1,
      10_000,
      'an attempt',
    );
    const [delivery] = await deliveries(id);
    expect(delivery.attemptLog[0]).toMatchObject({
      statusCode: null,
      error: 'refused: 10.255.255.1 is a private address',
    });
    expect(receiver.received).toHaveLength(0);
    await disable(id);
  });
});

describe('delivery', () => {
  it("signs every evaluation event of the project's evaluations (Standard Webhooks), written by the outbox", async () => {
    const { secret, id } = await createEndpoint([
      'evaluation.created',
      'evaluation.started',
      'evaluation.progress',
      'evaluation.completed',
    ]);
    const evaluationId = await createEvaluation(
      app,
      regex,
      [
        { input: 1, output: 'a' },
        { input: 2, output: 'b' },
      ],
      { name: 'hooked' },
    );
    await waitFor(app, evaluationId);
    await until(
      () => verified(secret).some((p) => p.type === 'evaluation.completed'),
      10_000,
      'evaluation.completed',
    );
    const payloads = verified(secret);
    const types = payloads.map((p) => p.type).sort();
    expect(types.filter((t) => t !== 'evaluation.progress')).toEqual([
      'evaluation.completed',
      'evaluation.created',
      'evaluation.started',
    ]);
    const completed = payloads.find((p) => p.type === 'evaluation.completed');
    expect(completed.data).toMatchObject({
      id: evaluationId,
      projectId: globalId('Project', app.projectId),
      name: 'hooked',
      status: 'COMPLETED',
      resultCounts: { total: 2, completed: 2, passed: 1, failed: 1, errored: 0 },
    });
    expect(completed.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // Headers as Standard Webhooks names them; the body is the stored payload, byte for byte.
    await until(
      async () => (await deliveries(id)).every((d: any) => d.status === 'DELIVERED'),
      5_000,
      'every delivery recorded',
    );
    const stored = await deliveries(id);
    for (const r of receiver.received) {
      expect(r.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
      expect(r.headers['content-type']).toBe('application/json');
      expect(
        stored.find((d: any) => d.message.id === r.headers['webhook-id']).message.payload,
      ).toBe(r.body);
    }
    expect(
      stored.every(
        (d: any) => d.status === 'DELIVERED' && d.attempts === 1 && d.lastStatusCode === 200,
      ),
    ).toBe(true);
    await disable(id);
  });

  it('retries a failing receiver: 500, 429 with Retry-After, then 200 – the same webhook-id, signed each time', async () => {
    const { secret, id } = await createEndpoint(['webhook.test']);
    receiver.answer = (_r, i) =>
      i === 0
        ? { status: 500 }
        : i === 1
          ? { status: 429, headers: { 'retry-after': '1' } }
          : { status: 200 };
    const sent = await app.gql(
      `mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { messageId } }`,
      { input: { id } },
    );
    const messageId = sent.body.data.sendTestWebhook.messageId;
    await until(() => receiver.received.length === 3, 10_000, 'three attempts');
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([
      messageId,
      messageId,
      messageId,
    ]);
    expect(verified(secret).map((p) => p.type)).toEqual([
      'webhook.test',
      'webhook.test',
      'webhook.test',
    ]);
    // Global ids, as everywhere else in the API.
    expect(verified(secret)[0].data).toMatchObject({
      endpointId: id,
      projectId: globalId('Project', app.projectId),
    });
    // The 429's Retry-After (1 s) was waited for, not the 200 ms of the schedule.
    expect(receiver.received[2].at - receiver.received[1].at).toBeGreaterThanOrEqual(900);
    await until(async () => (await deliveries(id))[0].status === 'DELIVERED', 5_000, 'DELIVERED');
    const [delivery] = await deliveries(id);
    expect(delivery).toMatchObject({ status: 'DELIVERED', attempts: 3, lastStatusCode: 200 });
    expect(delivery.attemptLog.map((a: any) => [a.statusCode, a.responseSnippet])).toEqual([
      [500, 'answer 500'],
      [429, 'answer 429'],
      [200, 'answer 200'],
    ]);
    await disable(id);
  });

  it('gives up after the last attempt (FAILED), and redeliverFailed sends it again', async () => {
    const { id } = await createEndpoint(['webhook.test']);
    receiver.answer = () => ({ status: 503 });
    const since = new Date(Date.now() - 1000).toISOString();
    await app.gql(
      `mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { messageId } }`,
      { input: { id } },
    );
    await until(async () => (await deliveries(id))[0]?.status === 'FAILED', 10_000, 'FAILED');
    expect(receiver.received).toHaveLength(3);
    expect((await app.gql(ENDPOINT, { id })).body.data.webhookEndpoint).toMatchObject({
      enabled: true,
      failingSince: expect.any(String),
      stats: { delivered: 0, failed: 1, pending: 0, successRate: 0 },
    });
    receiver.answer = () => ({ status: 204 });
    const again = await app.gql(
      `mutation($input: RedeliverFailedInput!) { redeliverFailed(input: $input) { redeliveries } }`,
      { input: { endpointId: id, since } },
    );
    expect(again.body.data.redeliverFailed.redeliveries).toBe(1);
    await until(async () => (await deliveries(id))[0]?.status === 'DELIVERED', 10_000, 'DELIVERED');
    expect((await app.gql(ENDPOINT, { id })).body.data.webhookEndpoint).toMatchObject({
      failingSince: null,
      stats: { delivered: 1, failed: 0, successRate: 1, p95LatencyMs: expect.any(Number) },
    });
    // One message, the same webhook-id every time.
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    await disable(id);
  });

  it('redeliverWebhookMessage sends a message again by its webhook-id (msg_…, not a uuid)', async () => {
    const { id } = await createEndpoint(['webhook.test']);
    const sent = await app.gql(
      `mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { messageId } }`,
      { input: { id } },
    );
    const messageId: string = sent.body.data.sendTestWebhook.messageId;
    expect(messageId).toMatch(/^msg_[0-9a-f]{32}$/);
    await until(async () => (await deliveries(id))[0]?.status === 'DELIVERED', 10_000, 'sent');
    const again = await app.gql(
      `mutation($input: RedeliverWebhookMessageInput!) { redeliverWebhookMessage(input: $input) { redeliveries } }`,
      { input: { id: messageId, endpointId: id } },
    );
    expect(again.body).toMatchObject({ data: { redeliverWebhookMessage: { redeliveries: 1 } } });
    await until(() => receiver.received.length === 2, 10_000, 'sent again');
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id']))).toEqual(
      new Set([messageId]),
    );
    // A message id that names nothing is not found, as one of another project would be.
    const missing = await app.gql(
      `mutation($input: RedeliverWebhookMessageInput!) { redeliverWebhookMessage(input: $input) { redeliveries } }`,
      { input: { id: 'msg_00000000000000000000000000000000' } },
    );
    expect(missing.body.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    await disable(id);
  });

  it('410 Gone disables the endpoint, saying why, and nothing more is sent to it', async () => {
    const { id } = await createEndpoint(['webhook.test', 'evaluation.created']);
    receiver.answer = () => ({ status: 410 });
    await app.gql(
      `mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { messageId } }`,
      { input: { id } },
    );
    await until(
      async () => !(await app.gql(ENDPOINT, { id })).body.data.webhookEndpoint.enabled,
      10_000,
      'disabled',
    );
    expect((await app.gql(ENDPOINT, { id })).body.data.webhookEndpoint.disabledReason).toMatch(
      /410 Gone/,
    );
    await createEvaluation(app, regex, [{ input: 1, output: 'a' }]);
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.received).toHaveLength(1);
  });

  it('disables an endpoint whose deliveries have all failed for 5 days', async () => {
    const { id } = await createEndpoint(['webhook.test']);
    const raw = Buffer.from(id, 'base64').toString().split(':')[1];
    await app.server.deps.db.query(
      `UPDATE webhook_endpoints SET failing_since = now() - interval '6 days' WHERE id = $1::uuid`,
      [raw],
    );
    receiver.answer = () => ({ status: 500 });
    await app.gql(
      `mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { messageId } }`,
      { input: { id } },
    );
    await until(
      async () => !(await app.gql(ENDPOINT, { id })).body.data.webhookEndpoint.enabled,
      10_000,
      'disabled',
    );
    expect((await app.gql(ENDPOINT, { id })).body.data.webhookEndpoint.disabledReason).toMatch(
      /^every delivery failed since \d{4}-/,
    );
  });

  it('rotation: the next messages carry two signatures, each secret verifies them', async () => {
    const { secret: old, id } = await createEndpoint(['webhook.test']);
    const rotated = await app.gql(
      `mutation($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) { secret webhookEndpoint { secrets { expiresAt } } } }`,
      { input: { id } },
    );
    const { secret: fresh, webhookEndpoint } = rotated.body.data.rotateWebhookSecret;
    expect(fresh).not.toBe(old);
    expect(webhookEndpoint.secrets.map((s: any) => s.expiresAt === null)).toEqual([true, false]);
    await app.gql(
      `mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { messageId } }`,
      { input: { id } },
    );
    await until(() => receiver.received.length === 1, 10_000, 'the message');
    expect(String(receiver.received[0].headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verified(old)[0].type).toBe('webhook.test');
    expect(verified(fresh)[0].type).toBe('webhook.test');
    await disable(id);
  });

  it('batch.completed is sent once, when the last evaluation of a batch ends', async () => {
    const { secret, id } = await createEndpoint(['batch.completed']);
    const res = await app.gql(
      `mutation($input: CreateEvaluationBatchInput!) { createEvaluationBatch(input: $input) { batch { id evaluations { id } } } }`,
      {
        input: {
          projectId: globalId('Project', app.projectId),
          name: 'nightly',
          evaluations: [1, 2, 3].map((n) => ({
            name: `e${n}`,
            testingCriteria: regex,
            dataSource: { items: [{ input: n, output: 'a' }] },
          })),
        },
      },
    );
    expect(res.body.errors).toBeUndefined();
    const batch = res.body.data.createEvaluationBatch.batch;
    for (const e of batch.evaluations) await waitFor(app, e.id);
    await until(() => receiver.received.length >= 1, 10_000, 'batch.completed');
    await new Promise((r) => setTimeout(r, 300));
    const payloads = verified(secret);
    expect(payloads).toHaveLength(1);
    expect(payloads[0]).toMatchObject({
      type: 'batch.completed',
      data: {
        id: batch.id,
        name: 'nightly',
        evaluations: batch.evaluations.map((e: any) => ({ id: e.id, status: 'COMPLETED' })),
      },
    });
    await disable(id);
  });
});

describe('evaluation lifecycle', () => {
  const judged = [
    {
      type: 'score_model',
      name: 'q',
      model: 'gpt-4o-mini',
      input: [{ role: 'user', content: 'Rate: {{sample.output_text}}' }],
      pass_threshold: 0.5,
    },
  ];
  const items = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ input: i, output: `answer ${i}` }));

  it('evaluation.progress: at most once per progressIntervalSeconds per evaluation, then completed', async () => {
    const created = await app.gql(CREATE, {
      input: {
        projectId: globalId('Project', app.projectId),
        url: receiver.url,
        events: ['evaluation.progress', 'evaluation.completed'],
        progressIntervalSeconds: 1,
      },
    });
    const secret = created.body.data.createWebhookEndpoint.secret;
    fake.delayMs = 100;
    fake.on('Rate:', { text: JSON.stringify({ score: 1 }) });
    // 40 items, two at a time, 100 ms each: about 2 s of progress.
    const id = await createEvaluation(app, judged, items(40));
    await waitFor(app, id);
    await until(
      () => verified(secret).some((p) => p.type === 'evaluation.completed'),
      10_000,
      'completed',
    );
    const progress = receiver.received
      .map((r, i) => ({ ...verified(secret)[i], at: r.at }))
      .filter((p) => p.type === 'evaluation.progress');
    expect(progress.length).toBeGreaterThanOrEqual(1);
    // At most one per interval of the run as it went (on a busy machine the run takes longer).
    const run = (
      await app.gql('query($id: ID!) { evaluation(id: $id) { startedAt finishedAt } }', { id })
    ).body.data.evaluation;
    expect(progress.length).toBeLessThanOrEqual(
      Math.ceil((Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1_000) + 1,
    );
    // Spaced by the interval (their outbox timestamps), counts growing.
    const stamps = progress.map((p) => Date.parse(p.timestamp)).sort((a, b) => a - b);
    // (The interval is kept between the marks; a message's timestamp is taken a few ms after its
    // mark, in the same transaction, so two stamps may be a hair under it.)
    for (let i = 1; i < stamps.length; i++)
      expect(stamps[i] - stamps[i - 1]).toBeGreaterThanOrEqual(1_000 - 20);
    expect(
      progress.every(
        (p) =>
          p.data.status === 'RUNNING' &&
          p.data.resultCounts.completed > 0 &&
          p.data.resultCounts.completed < 40,
      ),
    ).toBe(true);
    fake.reset();
  });

  it('evaluation.canceled and evaluation.failed (a quota stop), from the engine', async () => {
    const { secret } = await createEndpoint(['evaluation.canceled', 'evaluation.failed']);
    fake.on('Rate:', { hang: true });
    const canceled = await createEvaluation(app, judged, items(4));
    await until(() => fake.hanging() > 0, 30_000, 'a judge call');
    await app.gql(
      `mutation($id: ID!) { cancelEvaluation(input: { id: $id }) { evaluation { status } } }`,
      { id: canceled },
    );
    fake.reset();
    fake.on('Rate:', {
      text: JSON.stringify({ score: 1 }),
      usage: { prompt: 100, completion: 10 },
    });
    const user = await app.seedUser({ role: 'DEVELOPER', tier: 'FREE' });
    await app.server.deps.db.prisma.user.update({
      where: { id: user.userId },
      data: { limitOverrides: { daily: { judgeTokens: 150 } } },
    });
    const failed = await createEvaluation(app, judged, items(6), { key: user.key });
    await waitFor(app, failed);
    await until(() => receiver.received.length === 2, 10_000, 'two messages');
    const byType = Object.fromEntries(verified(secret).map((p) => [p.type, p.data]));
    expect(byType['evaluation.canceled']).toMatchObject({ id: canceled, status: 'CANCELED' });
    expect(byType['evaluation.failed']).toMatchObject({
      id: failed,
      status: 'FAILED',
      errorCode: 'QUOTA_EXCEEDED',
    });
    fake.reset();
  });
});

describe('alerts', () => {
  it('alert.fired and alert.resolved reach the endpoints subscribed to them, signed', async () => {
    const { secret, id } = await createEndpoint(['alert.fired', 'alert.resolved']);
    const rule = '0190c7d4-0000-7000-8000-00000000aaaa';
    const base = {
      ruleId: rule,
      ruleName: 'p95 latency',
      metric: 'LATENCY_MS' as const,
      projectId: app.projectId,
      value: 2300,
      threshold: 2000,
      windowSeconds: 300,
    };
    await app.server.services.events.transaction(async (_sql, emit) =>
      emitAlert(emit, {
        ...base,
        eventId: '0190c7d4-0000-7000-8000-0000000000e1',
        fromState: 'OK',
        state: 'FIRING',
        at: new Date().toISOString(),
      }),
    );
    await app.server.services.events.transaction(async (_sql, emit) =>
      emitAlert(emit, {
        ...base,
        eventId: '0190c7d4-0000-7000-8000-0000000000e2',
        fromState: 'FIRING',
        state: 'RESOLVED',
        value: 900,
        at: new Date().toISOString(),
      }),
    );
    await until(() => receiver.received.length === 2, 10_000, 'two alert messages');
    const payloads = verified(secret).sort((a, b) => a.timestamp.localeCompare(b.timestamp));
    expect(payloads.map((p) => [p.type, p.data.state, p.data.value])).toEqual([
      ['alert.fired', 'FIRING', 2300],
      ['alert.resolved', 'RESOLVED', 900],
    ]);
    expect(payloads[0].data).toMatchObject({
      ruleId: globalId('AlertRule', rule),
      ruleName: 'p95 latency',
      metric: 'LATENCY_MS',
      threshold: 2000,
      windowSeconds: 300,
    });
    await disable(id);
  });
});

describe('roles and isolation', () => {
  it('a VIEWER reads endpoints but cannot change them; another project sees nothing', async () => {
    const { id } = await createEndpoint(['webhook.test']);
    const viewer = await app.seedUser({ role: 'VIEWER' });
    expect(
      (await app.gql(ENDPOINT, { id }, { key: viewer.key })).body.data.webhookEndpoint.enabled,
    ).toBe(true);
    const refused = await app.gql(
      `mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { messageId } }`,
      { input: { id } },
      { key: viewer.key },
    );
    expect(refused.body.errors![0].extensions!.code).toBe('FORBIDDEN');
    const create = await app.gql(
      CREATE,
      {
        input: {
          projectId: globalId('Project', app.projectId),
          url: receiver.url,
          events: ['webhook.test'],
        },
      },
      { key: viewer.key },
    );
    expect(create.body.errors![0].extensions!.code).toBe('FORBIDDEN');

    const other = await app.seedProject();
    const outsider = await app.seedUser({ role: 'ADMIN', projectId: other });
    const endpoint = await app.gql(ENDPOINT, { id }, { key: outsider.key });
    expect([
      endpoint.body.data.webhookEndpoint,
      endpoint.body.errors?.[0].extensions?.code,
    ]).toEqual([null, 'NOT_FOUND']);
    const list = await app.gql(
      `query($p: ID!) { webhookEndpoints(projectId: $p) { edges { node { id } } } }`,
      { p: globalId('Project', app.projectId) },
      { key: outsider.key },
    );
    expect(list.body.errors![0].extensions!.code).toBe('NOT_FOUND');
    const del = await app.gql(DELIVERIES, { id }, { key: outsider.key });
    expect(del.body.errors![0].extensions!.code).toBe('NOT_FOUND');
    const update = await app.gql(
      `mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { webhookEndpoint { id } } }`,
      { input: { id, enabled: false } },
      { key: outsider.key },
    );
    expect(update.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    // Deliveries by node id.
    await app.gql(
      `mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { messageId } }`,
      { input: { id } },
    );
    await until(async () => (await deliveries(id)).length > 0, 5_000, 'a delivery');
    const deliveryId = (
      await app.gql(
        `query($id: ID!) { webhookDeliveries(endpointId: $id, first: 1) { edges { node { id } } } }`,
        { id },
      )
    ).body.data.webhookDeliveries.edges[0].node.id;
    const node = await app.gql(
      `query($id: ID!) { node(id: $id) { id } }`,
      { id: deliveryId },
      { key: outsider.key },
    );
    expect([node.body.data?.node ?? null, node.body.errors?.[0].extensions?.code]).toEqual([
      null,
      'NOT_FOUND',
    ]);
    await disable(id);
  });
});
