// The examples GraphiQL opens with run as they stand, with the variables the page carries: every
// operation of the document, in order, as the admin of the default project (only the two ids that
// come from an earlier example's answer are filled in, as its comment asks a person to do).
import { parse, print, type OperationDefinitionNode } from 'graphql';
import { createTestApp, globalId, type TestApp } from './support/app';
import { subscribeSse, until } from './support/live';
import { startReceiver, type Receiver } from './support/receiver';

let app: TestApp;
let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
  app = await createTestApp({ EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
});
afterAll(async () => {
  await app.close();
  await receiver.close();
});

async function graphiqlOptions() {
  const page = await fetch(`${app.url}/graphql`, { headers: { accept: 'text/html' } });
  expect(page.status).toBe(200);
  const json = /<script type="application\/json" id="graphiql-options">(.*?)<\/script>/s.exec(
    await page.text(),
  )?.[1];
  return JSON.parse(json!) as { defaultQuery: string; variables: string };
}

it('runs every example operation with the variables GraphiQL shows', async () => {
  const options = await graphiqlOptions();
  const variables = JSON.parse(options.variables);
  expect(variables.projectId).toBe(globalId('Project', app.projectId));
  // No date in the examples is written down: they are made when the page is served.
  expect(options.defaultQuery).not.toMatch(/\d{4}-\d{2}-\d{2}/);
  expect(Date.now() - Date.parse(variables.from)).toBeGreaterThan(6.9 * 24 * 3600 * 1000);

  // The one value a person must supply: where their webhook receiver is (this machine has no internet).
  expect(variables.webhookUrl).toMatch(/^https:\/\//);
  variables.webhookUrl = `${receiver.url}/hook`;

  const operations = parse(options.defaultQuery).definitions as OperationDefinitionNode[];
  const answers: Record<string, any> = {};
  for (const operation of operations) {
    const name = operation.name!.value;
    const text = print(operation);
    if (operation.operation === 'subscription') {
      const stream = subscribeSse(app.url, app.adminKey, text, variables);
      const events = await stream.done;
      stream.dispose();
      expect(events.at(-1).errors).toBeUndefined();
      answers[name] = events.at(-1).data;
      continue;
    }
    const res = await app.gql(text, variables);
    expect({ name, errors: res.body.errors }).toEqual({ name, errors: undefined });
    answers[name] = res.body.data;
    if (name === 'CreateEvaluation')
      variables.evaluationId = res.body.data.createEvaluation.evaluation.id;
    if (name === 'CreateWebhookEndpoint')
      variables.webhookEndpointId = res.body.data.createWebhookEndpoint.webhookEndpoint.id;
  }

  expect(answers.Viewer.viewer.email).toBe('admin@test.local');
  expect(answers.IngestSpans.ingestSpans).toMatchObject({ acceptedCount: 2, rejectedCount: 0 });
  const trace = answers.RecentTraces.traces.edges[0].node;
  expect(trace.rootSpans[0].children[0]).toMatchObject({ model: 'gpt-4o-mini', totalTokens: 160 });
  expect(Number(trace.totalCost)).toBeGreaterThan(0);
  // Today's spend, whatever today is.
  expect(answers.SpendByModel.costSummary).toEqual([
    expect.objectContaining({
      keys: expect.objectContaining({ model: 'gpt-4o-mini' }),
      calls: 1,
      inputTokens: 120,
      outputTokens: 40,
    }),
  ]);
  // 7 days and a minute of hours: the last one partly ahead of now.
  const [hourly] = answers.HourlyByModel.metrics;
  expect(hourly.keys.model).toBe('gpt-4o-mini');
  expect(hourly.totals).toMatchObject({ calls: 1, errorRate: 0 });
  expect(hourly.points.length).toBeGreaterThanOrEqual(169);
  expect(hourly.points.filter((pt: { calls: number }) => pt.calls).length).toBe(1);
  expect(answers.CreateScore.createScore.score).toMatchObject({
    name: 'helpful',
    value: 1,
    stringValue: 'True',
    source: 'FEEDBACK',
  });
  expect(answers.ScoreSummary.scoreSummary).toEqual([
    {
      keys: { name: 'helpful', source: 'FEEDBACK' },
      count: 1,
      mean: 1,
      p50: 1,
      p95: 1,
      categoryCounts: [{ category: 'True', count: 1 }],
    },
  ]);
  expect(answers.EvaluationProgress.evaluationProgress).toMatchObject({
    status: 'COMPLETED',
    resultCounts: { total: 2, passed: 1, failed: 1 },
  });
  expect(answers.CreateAlertRule.createAlertRule.alertRule.state).toBe('OK');
  expect(answers.SendTestWebhook.sendTestWebhook.messageId).toEqual(expect.any(String));
  expect(answers.WebhookDeliveries.webhookDeliveries.edges).toHaveLength(1);
  await until(() => receiver.received.length > 0, 15_000, 'the test webhook');
  expect(JSON.parse(receiver.received[0].body).type).toBe('webhook.test');
  expect(answers.CreateApiKey.createApiKey.key).toMatch(/^evg_/);
});

it('serves GraphiQL from our origin with a strict Content-Security-Policy', async () => {
  const page = await fetch(`${app.url}/graphql`, { headers: { accept: 'text/html' } });
  const html = await page.text();
  expect(page.headers.get('content-security-policy')).toMatch(
    /default-src 'none'; script-src 'self'/,
  );
  expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  expect(html).not.toMatch(/<script>(?!\s*<\/script>)/);
  const script = /<script src="([^"]+)"/.exec(html)![1];
  const asset = await fetch(`${app.url}${script}`, { headers: { 'accept-encoding': 'gzip' } });
  expect(asset.status).toBe(200);
  expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
  expect(asset.headers.get('cache-control')).toContain('immutable');
  expect((await asset.text()).length).toBeGreaterThan(1_000_000);
  expect((await fetch(`${app.url}/graphiql/nothing.js`)).status).toBe(404);
});
