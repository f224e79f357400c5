// Webhook delivery survives a SIGKILL: with Postgres, the worker process is killed while its
// deliveries are in flight at the receiver and another worker takes them over when their leases
// expire; on the embedded database the whole server is killed and started again. Every message
// arrives (at least once, with its own webhook-id) and every delivery ends DELIVERED.
import { Webhook } from 'standardwebhooks';
import { createDeployment } from './support/process';
import { startReceiver } from './support/receiver';

jest.setTimeout(180_000);

const MESSAGES = 8;

it('a SIGKILL with deliveries in flight loses none of them', async () => {
  const receiver = await startReceiver();
  // Hold the first requests open, so that the kill finds them in flight.
  let holding = true;
  receiver.answer = () => (holding ? { status: 200, delayMs: 30_000 } : { status: 200 });
  const deployment = await createDeployment({
    project: 'durable hooks',
    env: {
      REDIS_URL: '',
      EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      EVALGRAPH_WEBHOOK_TIMEOUT_MS: '1000',
      EVALGRAPH_WEBHOOK_RETRY_SCHEDULE_MS: '0,200,200,200,200',
    },
  });
  const { gql } = deployment;
  try {
    await deployment.startApi();
    deployment.startWorkers(1);
    const project = await deployment.projectId();
    const created = await gql(
      `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret webhookEndpoint { id } } }`,
      {
        input: { projectId: project, url: receiver.url, events: ['webhook.test'] },
      },
    );
    const { secret, webhookEndpoint } = created.data.createWebhookEndpoint;
    const sent: string[] = [];
    for (let i = 0; i < MESSAGES; i++)
      sent.push(
        (
          await gql(
            `mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { messageId } }`,
            { input: { id: webhookEndpoint.id } },
          )
        ).data.sendTestWebhook.messageId,
      );

    // Killed while the receiver holds its requests.
    // (Each attempt times out after 1 s and is tried again: on a busy machine a retry may arrive
    // before the last message's first attempt, so messages are counted, not requests.)
    const arrived = () => new Set(receiver.received.map((r) => r.headers['webhook-id'])).size;
    for (let i = 0; i < 400 && arrived() < MESSAGES; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(arrived()).toBe(MESSAGES);
    const beforeKill = receiver.received.length;
    await deployment.crash(() => (holding = false));
    // Shared: the only worker was killed, another takes over.
    deployment.startWorkers(1);

    const DELIVERIES = `query($id: ID!) { webhookDeliveries(endpointId: $id, first: 100) { edges { node { status attempts message { id } } } } }`;
    let nodes: any[] = [];
    for (let i = 0; i < 600; i++) {
      nodes = (await gql(DELIVERIES, { id: webhookEndpoint.id })).data.webhookDeliveries.edges.map(
        (e: any) => e.node,
      );
      if (nodes.length === MESSAGES && nodes.every((n) => n.status === 'DELIVERED')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(nodes.map((n) => n.status)).toEqual(Array(MESSAGES).fill('DELIVERED'));
    // Each was claimed again after the kill (a second attempt), and arrived again, signed.
    expect(nodes.every((n) => n.attempts >= 2)).toBe(true);
    const delivered = receiver.received.slice(beforeKill);
    expect(new Set(delivered.map((r) => r.headers['webhook-id']))).toEqual(new Set(sent));
    for (const r of delivered)
      expect(new Webhook(secret).verify(r.body, r.headers as Record<string, string>)).toMatchObject(
        { type: 'webhook.test' },
      );
  } finally {
    await deployment.close();
    await receiver.close();
  }
});
