// The event catalogue is the one list of events: the GraphQL schema lists what it declares, a
// webhook endpoint subscribes to exactly its webhook events, and events go out only with the
// change they announce (a change rolled back writes and announces nothing).
import {
  CATALOGUE,
  DEFAULT_WEBHOOK_EVENTS,
  EVALUATION_EVENTS,
  WEBHOOK_EVENTS,
  type EventMessage,
} from '../src/modules/events/catalogue';
import { createTestApp, globalId, type TestApp } from './support/app';

let app: TestApp;

beforeAll(async () => {
  app = await createTestApp({ EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
});
afterAll(() => app.close());

const create = (events: string[]) =>
  app.gql(
    `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { webhookEndpoint { id events } } }`,
    {
      input: {
        projectId: globalId('Project', app.projectId),
        url: 'http://127.0.0.1:9/hook',
        events,
      },
    },
  );

const TYPE = `query($name: String!) { __type(name: $name) { enumValues { name description } inputFields { name description } } }`;

it('EvaluationEventType lists the evaluation events of the catalogue, with their descriptions', async () => {
  const res = await app.gql(TYPE, { name: 'EvaluationEventType' });
  const values = res.body.data.__type.enumValues.map((v: { name: string; description: string }) => [
    v.name,
    v.description,
  ]);
  const expected = EVALUATION_EVENTS.map((name) => [
    name.slice('evaluation.'.length).toUpperCase(),
    `${name}: ${CATALOGUE[name].description}`,
  ]);
  expect(values.sort()).toEqual(expected.sort());
  expect(EVALUATION_EVENTS).toEqual([
    'evaluation.created',
    'evaluation.started',
    'evaluation.progress',
    'evaluation.completed',
    'evaluation.failed',
    'evaluation.canceled',
  ]);
});

it('webhook endpoints take exactly the webhook events of the catalogue, listed where they are given', async () => {
  expect(WEBHOOK_EVENTS).toEqual(Object.keys(CATALOGUE));
  for (const input of ['CreateWebhookEndpointInput', 'UpdateWebhookEndpointInput']) {
    const fields = (await app.gql(TYPE, { name: input })).body.data.__type.inputFields;
    const description = fields.find((f: { name: string }) => f.name === 'events').description;
    expect(description.startsWith(`${WEBHOOK_EVENTS.join(', ')}.`)).toBe(true);
  }
  // Without a list, an endpoint gets every event but the opt-in ones, which the text names.
  const optIn = WEBHOOK_EVENTS.filter((name) => !DEFAULT_WEBHOOK_EVENTS.includes(name));
  expect(optIn).toEqual(['score.created']);
  const createInput = (await app.gql(TYPE, { name: 'CreateWebhookEndpointInput' })).body.data
    .__type;
  expect(
    createInput.inputFields.find((f: { name: string }) => f.name === 'events').description,
  ).toContain(`opt-in ones (${optIn.join(', ')})`);
  const unlisted = await app.gql(
    `mutation($p: ID!) { createWebhookEndpoint(input: { projectId: $p, url: "http://127.0.0.1:9/hook" }) { webhookEndpoint { events } } }`,
    { p: globalId('Project', app.projectId) },
  );
  expect(unlisted.body.data.createWebhookEndpoint.webhookEndpoint.events).toEqual(
    DEFAULT_WEBHOOK_EVENTS,
  );
  expect(
    (await create(WEBHOOK_EVENTS)).body.data.createWebhookEndpoint.webhookEndpoint.events,
  ).toEqual(WEBHOOK_EVENTS);
  expect((await create(['evaluation.finished'])).body.errors?.[0].extensions).toMatchObject({
    code: 'BAD_USER_INPUT',
    path: ['input', 'events'],
  });
});

it('a change that rolls back writes no webhook message and announces nothing', async () => {
  const created = (await create(['webhook.test'])).body.data.createWebhookEndpoint.webhookEndpoint
    .id;
  const endpoint = Buffer.from(created, 'base64').toString().split(':')[1];
  const heard: EventMessage[] = [];
  const stop = app.server.services.events.listen((m) => heard.push(m));
  const count = async () =>
    (
      await app.server.deps.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM webhook_messages`,
      )
    )[0].n;
  const before = await count();
  await expect(
    app.server.services.events.transaction(async (_sql, emit) => {
      emit(
        'webhook.test',
        { endpointId: endpoint, projectId: app.projectId },
        { endpoints: [endpoint] },
      );
      throw new Error('the change failed');
    }),
  ).rejects.toThrow('the change failed');
  expect(await count()).toBe(before);
  // The same, committed: one message, heard once.
  const sent = await app.server.services.events.transaction(async (_sql, emit) =>
    emit(
      'webhook.test',
      { endpointId: endpoint, projectId: app.projectId },
      { endpoints: [endpoint] },
    ),
  );
  stop();
  expect(sent.written).toBe(true);
  expect(await count()).toBe(before + 1);
  expect(heard.map((m) => [m.type, m.subjectId])).toEqual([['webhook.test', endpoint]]);
});
