// A fired alert on a money metric, as its delivery log shows it: the message's payload carries the
// value, threshold and baseline, so reading it needs the costs right (BILLING or ADMIN), as the
// rule's lastValue does. A DEVELOPER or VIEWER reading an alert channel's or an endpoint's
// deliveries gets FORBIDDEN in its place; a non-money alert's payload stays readable.
import { createTestApp, globalId, type TestApp } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app?.close());

const CHANNEL_LOG = `query($id: ID!) { alertChannel(id: $id) { deliveries { edges { node { message { eventType payload } } } } } }`;
const ENDPOINT_LOG = `query($id: ID!) { webhookDeliveries(endpointId: $id) { edges { node { message { eventType payload } } } } }`;

/** An alert event's body as the outbox stores it (events/catalogue.ts `alert`). */
const body = (metric: string, value: number) =>
  JSON.stringify({
    type: 'alert.fired',
    data: { metric, value, threshold: 1, state: 'FIRING', fromState: 'OK', windowSeconds: 60 },
  });

it('hides a COST alert’s payload from roles without the costs right, on channels and endpoints', async () => {
  const project = await app.seedProject('money');
  const admin = await app.seedUser({ role: 'ADMIN', projectId: project });
  const created = await app.gql(
    `mutation($input: CreateAlertChannelInput!) { createAlertChannel(input: $input) { alertChannel { id } } }`,
    {
      input: {
        projectId: globalId('Project', project),
        type: 'PAGERDUTY',
        name: 'oncall',
        routingKey: 'R0UT1NGKEY',
      },
    },
    { key: admin.key },
  );
  expect(created.body.errors).toBeUndefined();
  const channelId: string = created.body.data.createAlertChannel.alertChannel.id;
  const prisma = app.server.deps.db.prisma;
  const endpoint = await prisma.webhookEndpoint.create({
    data: {
      projectId: project,
      url: 'https://hooks.example.com/a',
      events: ['alert.fired'],
      secrets: [],
      enabled: false,
    },
  });
  const channel = await prisma.alertChannel.findFirstOrThrow({ where: { projectId: project } });
  for (const [id, metric, value] of [
    ['msg_cost_alert', 'COST', 123.45],
    ['msg_count_alert', 'SPAN_COUNT', 7],
  ] as const) {
    await prisma.webhookMessage.create({
      data: { id, projectId: project, eventType: 'alert.fired', payload: body(metric, value) },
    });
    await prisma.webhookDelivery.create({ data: { messageId: id, channelId: channel.id } });
    await prisma.webhookDelivery.create({ data: { messageId: id, endpointId: endpoint.id } });
  }

  const logs = async (key: string) =>
    Promise.all([
      app.gql(CHANNEL_LOG, { id: channelId }, { key }),
      app.gql(ENDPOINT_LOG, { id: globalId('WebhookEndpoint', endpoint.id) }, { key }),
    ]).then((rs) =>
      rs.map((r) => ({
        payloads: (r.body.data.alertChannel?.deliveries ?? r.body.data.webhookDeliveries).edges.map(
          (e: any) => e.node.message.payload,
        ),
        codes: (r.body.errors ?? []).map((e) => e.extensions?.code),
      })),
    );

  // Newest first: the SPAN_COUNT alert, then the COST one.
  for (const log of await logs(admin.key))
    expect(log).toEqual({ payloads: [body('SPAN_COUNT', 7), body('COST', 123.45)], codes: [] });
  for (const role of ['DEVELOPER', 'VIEWER'] as const) {
    const { key } = await app.seedUser({ role, projectId: project });
    for (const log of await logs(key))
      expect(log).toEqual({ payloads: [body('SPAN_COUNT', 7), null], codes: ['FORBIDDEN'] });
  }
});
