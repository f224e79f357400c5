// Alert channels through the real server: a rule that fires then resolves notifies Slack (an
// incoming-webhook message with blocks), PagerDuty (Events API v2: trigger, then resolve with the
// same dedup_key) and email (SMTP) — each a loopback fake checking the exact format — through
// the webhook outbox (a delivery per event and channel, retried like a webhook's); secrets are
// never shown; another project's key cannot attach, read or delete a channel.
import { createTestApp, globalId, type TestApp } from './support/app';
import { until } from './support/live';
import { startReceiver, type Receiver } from './support/receiver';
import { startSmtp, type SmtpReceiver } from './support/smtp';
import { ingest } from './support/spans';

jest.setTimeout(60_000);

let app: TestApp;
let slack: Receiver;
let pagerDuty: Receiver;
let smtp: SmtpReceiver;
const T = Date.parse('2026-11-20T12:00:00.000Z');
const setClock = (ms: number) => (app.server.deps.clock.now = () => new Date(ms));
const PUBLIC_URL = 'https://evalgraph.example.com';
const FROM = 'Evalgraph Alerts <alerts@evalgraph.example.com>';
const ROUTING_KEY = 'R0UT1NGKEY00000000000000000abcd';

const CREATE_CHANNEL = `mutation($input: CreateAlertChannelInput!) { createAlertChannel(input: $input) { alertChannel { id type name url routingKey addresses } } }`;
const CREATE_RULE = `mutation($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { alertRule { id severity alertChannels { id } } } }`;

async function channel(input: Record<string, unknown>, key?: string) {
  const res = await app.gql(CREATE_CHANNEL, { input }, { key });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.createAlertChannel.alertChannel;
}

async function rule(projectId: string, input: Record<string, unknown>) {
  const res = await app.gql(CREATE_RULE, {
    input: {
      projectId,
      name: 'traffic',
      metric: 'SPAN_COUNT',
      aggregation: 'COUNT',
      operator: 'GT',
      threshold: 2,
      windowSeconds: 60,
      intervalSeconds: 30,
      minSamples: 0,
      ...input,
    },
  });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.createAlertRule.alertRule;
}

/** Three spans just after T: the rule fires at T + 10 s and resolves at T + 100 s (an empty window). */
async function fireThenResolve(project: string, between: () => Promise<void>) {
  await ingest(
    app,
    project,
    [0, 1, 2].map((i) => ({
      traceId: `t-${project}`,
      spanId: `s-${project}-${i}`,
      name: 'call',
      startTime: new Date(T + 1_000 + i).toISOString(),
    })),
  );
  setClock(T + 10_000);
  await app.server.services.alertRules.evaluateDue();
  await between();
  setClock(T + 100_000);
  await app.server.services.alertRules.evaluateDue();
  setClock(T);
}

beforeAll(async () => {
  slack = await startReceiver();
  pagerDuty = await startReceiver();
  smtp = await startSmtp();
  app = await createTestApp({
    // The worker's own loop stays out of the way: tests evaluate due rules themselves.
    EVALGRAPH_ALERTS_POLL_MS: '3600000',
    // Loopback fakes: allowed as webhook tests allow them.
    EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    EVALGRAPH_WEBHOOK_RETRY_SCHEDULE_MS: '0,100,200',
    EVALGRAPH_SMTP_URL: smtp.url,
    EVALGRAPH_SMTP_FROM: FROM,
    EVALGRAPH_PUBLIC_URL: PUBLIC_URL,
  });
  setClock(T);
});

afterAll(async () => {
  await app?.close();
  await Promise.all([slack?.close(), pagerDuty?.close(), smtp?.close()]);
});

it('a rule that fires then resolves notifies Slack, PagerDuty and email, each in its format', async () => {
  const raw = await app.seedProject('payments');
  const project = globalId('Project', raw);
  const s = await channel({ projectId: project, type: 'SLACK', name: 'ops', url: slack.url });
  const p = await channel({
    projectId: project,
    type: 'PAGERDUTY',
    name: 'pager',
    url: pagerDuty.url,
    routingKey: ROUTING_KEY,
  });
  const e = await channel({
    projectId: project,
    type: 'EMAIL',
    name: 'on call',
    addresses: ['oncall@example.com', 'dev@example.com'],
  });
  // Secrets are written, never read back: masked.
  expect(s).toMatchObject({ type: 'SLACK', url: `${new URL(slack.url).origin}/…hook` });
  expect(s.url).not.toContain('/hook');
  expect(p).toMatchObject({ type: 'PAGERDUTY', url: pagerDuty.url, routingKey: '…abcd' });
  expect(e).toMatchObject({ addresses: ['oncall@example.com', 'dev@example.com'], url: null });
  const listed = await app.gql(
    `query($p: ID!) { alertChannels(projectId: $p) { edges { node { id type url routingKey } } } }`,
    { p: project },
  );
  expect(JSON.stringify(listed.body)).not.toContain(ROUTING_KEY);
  expect(listed.body.data.alertChannels.edges.map((x: any) => x.node.type)).toEqual([
    'SLACK',
    'PAGERDUTY',
    'EMAIL',
  ]);

  const r = await rule(project, { channelIds: [s.id, p.id, e.id], severity: 'CRITICAL' });
  expect(r.severity).toBe('CRITICAL');
  expect(r.alertChannels.map((c: any) => c.id).sort()).toEqual([s.id, p.id, e.id].sort());

  await fireThenResolve(raw, () =>
    // The firing is delivered before the resolution is recorded: their order is fixed.
    until(
      () =>
        slack.received.length === 1 &&
        pagerDuty.received.length === 1 &&
        smtp.received.length === 1,
      15_000,
      'the firing on three channels',
    ),
  );
  await until(
    () =>
      slack.received.length === 2 && pagerDuty.received.length === 2 && smtp.received.length === 2,
    15_000,
    'the resolution on three channels',
  );

  // Slack: the documented incoming-webhook shape, text as the fallback.
  const [fired, resolved] = slack.received.map((x) => JSON.parse(x.body));
  expect(slack.received[0].headers['content-type']).toBe('application/json');
  expect(fired.text).toBe(':red_circle: FIRING: traffic: SPAN_COUNT 3 (threshold 2) in payments');
  expect(fired.blocks[0]).toEqual({
    type: 'header',
    text: { type: 'plain_text', text: 'FIRING: traffic', emoji: true },
  });
  expect(fired.blocks[1]).toEqual({
    type: 'section',
    fields: [
      { type: 'mrkdwn', text: '*Rule*\ntraffic' },
      { type: 'mrkdwn', text: '*Metric*\nSPAN_COUNT' },
      { type: 'mrkdwn', text: '*Value*\n3 (threshold 2)' },
      { type: 'mrkdwn', text: '*Project*\npayments' },
      { type: 'mrkdwn', text: '*Window*\n1 min' },
      { type: 'mrkdwn', text: '*State*\nOK → FIRING' },
      { type: 'mrkdwn', text: '*Severity*\nCRITICAL' },
    ],
  });
  const link = /^<(.+)\|Open the rule in Evalgraph>$/.exec(fired.blocks[2].text.text)![1];
  expect(link.startsWith(`${PUBLIC_URL}/graphql?query=`)).toBe(true);
  expect(decodeURIComponent(link)).toContain(`alertRule(id: "${r.id}")`);
  expect(resolved.text).toBe(
    ':large_green_circle: RESOLVED: traffic: SPAN_COUNT 0 (threshold 2) in payments',
  );
  expect(resolved.blocks[1].fields[5]).toEqual({
    type: 'mrkdwn',
    text: '*State*\nFIRING → RESOLVED',
  });

  // PagerDuty: trigger, then resolve with the same dedup_key.
  const [trigger, resolve] = pagerDuty.received.map((x) => JSON.parse(x.body));
  expect(trigger).toEqual({
    routing_key: ROUTING_KEY,
    event_action: 'trigger',
    dedup_key: `evalgraph:${r.id}`,
    payload: {
      summary: 'FIRING: traffic: SPAN_COUNT 3 (threshold 2) in payments',
      source: 'evalgraph/payments',
      severity: 'critical',
      timestamp: new Date(T + 10_000).toISOString(),
      component: 'SPAN_COUNT',
      custom_details: {
        rule: 'traffic',
        metric: 'SPAN_COUNT',
        value: 3,
        threshold: 2,
        window_seconds: 60,
        samples: 3,
        state: 'FIRING',
        from_state: 'OK',
        project: 'payments',
      },
    },
    client: 'Evalgraph',
    client_url: link,
    links: [{ href: link, text: 'The rule in Evalgraph' }],
  });
  expect(resolve).toEqual({
    routing_key: ROUTING_KEY,
    event_action: 'resolve',
    dedup_key: trigger.dedup_key,
  });

  // Email: from the configured sender to the channel's addresses, text and HTML.
  const [mail, resolvedMail] = smtp.received;
  expect(mail.from).toBe('alerts@evalgraph.example.com');
  expect(mail.headers.from).toBe(FROM);
  expect(mail.to).toEqual(['oncall@example.com', 'dev@example.com']);
  expect(mail.headers.to).toBe('oncall@example.com, dev@example.com');
  expect(mail.subject).toBe('[Evalgraph] FIRING: traffic (payments)');
  expect(mail.text).toContain('FIRING: traffic: SPAN_COUNT 3 (threshold 2) in payments');
  expect(mail.text).toContain('Value: 3 (threshold 2)\nProject: payments\nWindow: 1 min');
  expect(mail.text).toContain('State: OK → FIRING');
  expect(mail.text).toContain(`Open the rule: ${link}`);
  expect(mail.html).toContain('<tr><th align="left">Rule</th><td>traffic</td></tr>');
  expect(mail.html).toContain('<tr><th align="left">State</th><td>OK → FIRING</td></tr>');
  expect(resolvedMail.subject).toBe('[Evalgraph] RESOLVED: traffic (payments)');

  // The delivery log: one delivery per (event, channel), as for webhook endpoints.
  for (const c of [s, p, e]) {
    const log = await app.gql(
      `query($id: ID!) { alertChannel(id: $id) { deliveries { edges { node { status attempts endpoint { id } channel { id } message { eventType } } } } } }`,
      { id: c.id },
    );
    expect(log.body.data.alertChannel.deliveries.edges.map((x: any) => x.node)).toEqual([
      {
        status: 'DELIVERED',
        attempts: 1,
        endpoint: null,
        channel: { id: c.id },
        message: { eventType: 'alert.resolved' },
      },
      {
        status: 'DELIVERED',
        attempts: 1,
        endpoint: null,
        channel: { id: c.id },
        message: { eventType: 'alert.fired' },
      },
    ]);
  }
});

it('a receiver that fails once gets the message once it answers, and once only', async () => {
  const raw = await app.seedProject('flaky');
  const project = globalId('Project', raw);
  const flaky = await startReceiver();
  flaky.answer = (_request, index) => ({ status: index === 0 ? 503 : 200 });
  smtp.received.length = 0;
  smtp.offered = 0;
  smtp.refuse = (index) => index === 0;
  try {
    const s = await channel({ projectId: project, type: 'SLACK', name: 'flaky', url: flaky.url });
    const e = await channel({
      projectId: project,
      type: 'EMAIL',
      name: 'flaky mail',
      addresses: ['oncall@example.com'],
    });
    await rule(project, { channelIds: [s.id, e.id] });
    await fireThenResolve(raw, () =>
      until(() => flaky.received.length === 2 && smtp.received.length === 1, 15_000, 'a retry'),
    );
    await until(
      () => flaky.received.length === 3 && smtp.received.length === 2,
      15_000,
      'the resolution',
    );
    await new Promise((r) => setTimeout(r, 500)); // a third send of the firing would come by now
    expect(flaky.received).toHaveLength(3);
    expect(flaky.received[0].body).toBe(flaky.received[1].body);
    expect(JSON.parse(flaky.received[1].body).text).toContain('FIRING');
    expect(JSON.parse(flaky.received[2].body).text).toContain('RESOLVED');
    expect(smtp.offered).toBe(3);
    expect(smtp.received.map((m) => m.subject)).toEqual([
      '[Evalgraph] FIRING: traffic (flaky)',
      '[Evalgraph] RESOLVED: traffic (flaky)',
    ]);
    const log = await app.gql(
      `query($id: ID!) { alertChannel(id: $id) { deliveries { edges { node { status attempts attemptLog { statusCode error } } } } } }`,
      { id: s.id },
    );
    const fired = log.body.data.alertChannel.deliveries.edges[1].node;
    expect(fired).toEqual({
      status: 'DELIVERED',
      attempts: 2,
      attemptLog: [
        { statusCode: 503, error: 'HTTP 503' },
        { statusCode: 200, error: null },
      ],
    });
  } finally {
    smtp.refuse = () => false;
    await flaky.close();
  }
});

it('another project’s key cannot attach, read or delete a channel; inputs are checked', async () => {
  const project = globalId('Project', app.projectId);
  const mine = await channel({ projectId: project, type: 'SLACK', name: 'mine', url: slack.url });
  const elsewhere = await app.seedProject('elsewhere');
  const outsider = await app.seedUser({ role: 'DEVELOPER', projectId: elsewhere });
  const theirs = globalId('Project', elsewhere);
  const missing = globalId('AlertChannel', '0190c7d4-0000-7000-8000-000000000001');
  const attach = (channelIds: string[]) =>
    app.gql(
      CREATE_RULE,
      {
        input: {
          projectId: theirs,
          name: 'x',
          metric: 'SPAN_COUNT',
          aggregation: 'COUNT',
          operator: 'GT',
          threshold: 1,
          windowSeconds: 60,
          channelIds,
        },
      },
      { key: outsider.key },
    );
  const foreign = await attach([mine.id]);
  const absent = await attach([missing]);
  expect(foreign.body.errors?.[0]).toMatchObject({
    path: ['createAlertRule'],
    extensions: { code: 'NOT_FOUND' },
  });
  expect(foreign.body.errors?.[0].message).toBe(absent.body.errors?.[0].message);
  // Their own rule, updated to name my channel: the same.
  const own = await channel(
    { projectId: theirs, type: 'SLACK', name: 'theirs', url: slack.url },
    outsider.key,
  );
  const ruleRes = await attach([own.id]);
  const ruleId = ruleRes.body.data.createAlertRule.alertRule.id;
  const update = await app.gql(
    `mutation($input: UpdateAlertRuleInput!) { updateAlertRule(input: $input) { alertRule { id } } }`,
    { input: { id: ruleId, channelIds: [own.id, mine.id] } },
    { key: outsider.key },
  );
  expect(update.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  // Reading and deleting mine.
  const read = await app.gql(
    `query($id: ID!) { alertChannel(id: $id) { name } }`,
    { id: mine.id },
    { key: outsider.key },
  );
  expect(read.body.data?.alertChannel ?? null).toBeNull();
  expect(read.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  const list = await app.gql(
    `query($p: ID!) { alertChannels(projectId: $p) { edges { node { id } } } }`,
    { p: project },
    { key: outsider.key },
  );
  expect(list.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  const del = await app.gql(
    `mutation($id: ID!) { deleteAlertChannel(input: { id: $id }) { deletedAlertChannelId } }`,
    { id: mine.id },
    { key: outsider.key },
  );
  expect(del.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  const made = await app.gql(
    CREATE_CHANNEL,
    { input: { projectId: project, type: 'EMAIL', name: 'x', addresses: ['a@example.com'] } },
    { key: outsider.key },
  );
  expect(made.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  // A viewer of mine reads it but cannot change it.
  const viewer = await app.seedUser({ role: 'VIEWER', projectId: app.projectId });
  const seen = await app.gql(
    `query($id: ID!) { alertChannel(id: $id) { name url } }`,
    { id: mine.id },
    { key: viewer.key },
  );
  expect(seen.body.data.alertChannel.name).toBe('mine');
  const refused = await app.gql(
    `mutation($id: ID!) { deleteAlertChannel(input: { id: $id }) { deletedAlertChannelId } }`,
    { id: mine.id },
    { key: viewer.key },
  );
  expect(refused.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');

  // Inputs: what each type needs, and the address guard.
  const bad = async (input: Record<string, unknown>) =>
    (await app.gql(CREATE_CHANNEL, { input: { projectId: project, name: 'x', ...input } })).body
      .errors?.[0];
  expect(await bad({ type: 'SLACK' })).toMatchObject({
    extensions: { code: 'BAD_USER_INPUT', path: ['input', 'url'] },
  });
  expect(await bad({ type: 'PAGERDUTY', url: pagerDuty.url })).toMatchObject({
    extensions: { code: 'BAD_USER_INPUT', path: ['input', 'routingKey'] },
  });
  expect(await bad({ type: 'EMAIL', addresses: ['not an address'] })).toMatchObject({
    extensions: { code: 'BAD_USER_INPUT' },
  });
  expect(await bad({ type: 'SLACK', url: 'http://10.1.2.3/hook' })).toMatchObject({
    extensions: { code: 'BAD_USER_INPUT', path: ['input', 'url'] },
  });
  expect(await bad({ type: 'SLACK', url: slack.url, routingKey: 'k' })).toMatchObject({
    extensions: { code: 'BAD_USER_INPUT', path: ['input', 'routingKey'] },
  });

  // Deleting a channel: rules stop naming it.
  const deleted = await app.gql(
    `mutation($id: ID!) { deleteAlertChannel(input: { id: $id }) { deletedAlertChannelId } }`,
    { id: own.id },
    { key: outsider.key },
  );
  expect(deleted.body.data.deleteAlertChannel.deletedAlertChannelId).toBe(own.id);
  const after = await app.gql(
    `query($id: ID!) { alertRule(id: $id) { alertChannels { id } } }`,
    { id: ruleId },
    { key: outsider.key },
  );
  expect(after.body.data.alertRule.alertChannels).toEqual([]);
});
