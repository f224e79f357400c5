// Shutdown that always ends. A real `evalgraph serve` holds everything open at once: an evaluation
// stopped by its project's budget while its judge calls were queued behind the concurrency limit
// (the state that used to hang: the aborted waiters kept the limit's queue stuck, so the stop
// waited for calls that would never run), a running evaluation with a judge call hanging and
// another sleeping out a 429's Retry-After, a webhook delivery to a receiver that never answers,
// SSE and WebSocket subscriptions to its progress, a WebSocket peer that never answers the close
// handshake, and an HTTP request in flight. SIGTERM ends it with exit code 0 within
// EVALGRAPH_SHUTDOWN_TIMEOUT_MS; the request in flight is answered, the WebSocket is closed with
// 1001. A restarted server (judge and receiver answering now) resumes at once what was handed
// back: every item graded once, the delivery sent with no attempt charged to the shutdown.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { judgeEnv, startFakeLlm } from './support/fake-llm';
import { subscribeSse, subscribeWs, until, wsClient } from './support/live';
import { createDeployment, startServeProcess, type ServeProcess } from './support/process';
import { startReceiver } from './support/receiver';

jest.setTimeout(240_000);

const SHUTDOWN_MS = 5_000;
// Only a hang fails on time: whether shutdown kept its deadline, the server says itself
// ("shutdown timeout reached" in its log).
const HANG_GUARD_MS = 30_000;
const BUDGETED_ITEMS = 12;
const RUNNING_ITEMS = 6;

const STATE = `query($id: ID!) { evaluation(id: $id) { status errorCode resultCounts { total completed passed failed errored } results(first: 1) { totalCount } items(first: 100) { edges { node { state attempts } } } } }`;
const PROGRESS = `subscription($id: ID!) { evaluationProgress(id: $id) { status resultCounts { completed } } }`;
const DELIVERIES = `query($id: ID!) { webhookDeliveries(endpointId: $id, first: 10) { edges { node { status attempts message { eventType } attemptLog { statusCode error } } } } }`;

const criteria = (prompt: string) => [
  {
    type: 'score_model',
    name: 'q',
    model: 'gpt-4o-mini',
    input: [{ role: 'user', content: `${prompt}: {{sample.output_text}}` }],
  },
];
const items = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ input: i, output: `answer ${i}` }));

/** A WebSocket peer that completes the handshake and then answers nothing, not even the close. */
async function silentWebSocket(url: string) {
  const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    `GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n',
  );
  const [head] = await once(socket, 'data');
  expect(String(head)).toMatch(/^HTTP\/1\.1 101/);
  const closed = once(socket, 'close').then(() => true);
  return { closed, destroy: () => socket.destroy() };
}

/** A GraphQL request whose body is only half sent: in flight at the server until the rest comes. */
function halfSentRequest(url: string, key: string) {
  const body = JSON.stringify({ query: '{ viewer { email } }' });
  const request = http.request(`${url}/graphql`, {
    method: 'POST',
    agent: false,
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      authorization: `Bearer ${key}`,
    },
  });
  const answered = new Promise<{ status: number; body: any }>((resolve, reject) => {
    request.on('response', (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    request.on('error', reject);
  });
  answered.catch(() => {});
  request.write(body.slice(0, 10));
  return { finish: () => request.end(body.slice(10)), answered };
}

it('SIGTERM ends a server holding everything open within the shutdown timeout; a restart finishes the work with exact counts', async () => {
  const fake = await startFakeLlm();
  const receiver = await startReceiver();
  let answering = false;
  receiver.answer = () => (answering ? { status: 200 } : { status: 200, delayMs: 600_000 });
  const deployment = await createDeployment({
    project: 'budgeted',
    env: {
      ...judgeEnv(fake),
      // Eight items in flight, two judge calls at a time: the others wait for a slot.
      EVALGRAPH_JUDGE_CONCURRENCY: '2',
      EVALGRAPH_EVAL_CONCURRENCY: '8',
      EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      // Longer than the shutdown: the delivery is in flight when it comes. Leases (60 s for items,
      // 3 × 60 + 5 s for deliveries) outlast the test, so only a hand-back lets the restart resume.
      EVALGRAPH_WEBHOOK_TIMEOUT_MS: '60000',
      EVALGRAPH_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_MS),
    },
  });
  const { env, key } = deployment;
  // One `serve` process (API and worker) on either database: the one whose SIGTERM is watched.
  let server: ServeProcess | null = null;
  const disposers: (() => unknown)[] = [];
  try {
    server = await startServeProcess(env);
    const gql = async (query: string, variables: Record<string, unknown> = {}) => {
      const body = await deployment.gql(query, variables, server!.url);
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };
    const state = async (id: string) => (await gql(STATE, { id })).evaluation;
    const budgeted = await deployment.projectId(server.url);
    const other = (
      await gql(`mutation { createProject(input: { name: "running" }) { project { id } } }`)
    ).createProject.project.id;
    const endpoint = (
      await gql(
        `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { webhookEndpoint { id } } }`,
        { input: { projectId: budgeted, url: receiver.url, events: ['evaluation.failed'] } },
      )
    ).createWebhookEndpoint.webhookEndpoint.id;
    // The first item's judge tokens (110) spend the project's day.
    await gql(
      `mutation($input: SetProjectBudgetInput!) { setProjectBudget(input: $input) { project { id } } }`,
      { input: { projectId: budgeted, judgeTokensPerDay: 50 } },
    );

    // The budgeted evaluation: its first judge call answers, the next hangs, six wait for a slot;
    // the next item finds the budget spent and the evaluation fails, which aborts them all.
    let budgetedCalls = 0;
    fake.on('Grade budgeted', () =>
      ++budgetedCalls === 1 ? { text: JSON.stringify({ score: 1 }) } : { hang: true },
    );
    // The running one: its first call is told to come back in a minute, the others hang.
    let runningCalls = 0;
    fake.on('Grade running', () =>
      ++runningCalls === 1 ? { status: 429, headers: { 'retry-after': '60' } } : { hang: true },
    );
    const create = async (projectId: string, prompt: string, n: number) =>
      (
        await gql(
          `mutation($input: CreateEvaluationInput!) { createEvaluation(input: $input) { evaluation { id } } }`,
          {
            input: {
              projectId,
              name: prompt,
              testingCriteria: criteria(prompt),
              dataSource: { items: items(n) },
            },
          },
        )
      ).createEvaluation.evaluation.id as string;
    const stopped = await create(budgeted, 'Grade budgeted', BUDGETED_ITEMS);
    const running = await create(other, 'Grade running', RUNNING_ITEMS);

    await until(
      async () => (await state(stopped)).status === 'FAILED',
      30_000,
      'the budget to stop the first evaluation',
    );
    expect(await state(stopped)).toMatchObject({
      errorCode: 'QUOTA_EXCEEDED',
      resultCounts: { completed: 1, passed: 1 },
    });
    await until(
      () => runningCalls >= 2,
      30_000,
      'judge calls of the running evaluation to be in flight',
    );
    await until(
      () => receiver.received.length >= 1,
      30_000,
      'the evaluation.failed webhook to be in flight',
    );

    // Live progress of the running evaluation, over both transports.
    let wsCloseCode: number | null = null;
    const ws = wsClient(server.url, key, { onClose: (code) => (wsCloseCode = code) });
    disposers.push(() => ws.dispose());
    const overWs = subscribeWs(ws, PROGRESS, { id: running });
    const overSse = subscribeSse(server.url, key, PROGRESS, { id: running });
    disposers.push(() => overSse.dispose());
    await until(
      () => overWs.events.length > 0 && overSse.events.length > 0,
      15_000,
      'both subscriptions to be live',
    );
    expect(overWs.events[0].data.evaluationProgress.status).toBe('RUNNING');
    const silent = await silentWebSocket(server.url);
    disposers.push(silent.destroy);
    const inFlight = halfSentRequest(server.url, key);
    await new Promise((r) => setTimeout(r, 200));

    const exited = server.stop('SIGTERM');
    // The request in flight is drained: its body completes after the signal, and it is answered.
    await new Promise((r) => setTimeout(r, 300));
    inFlight.finish();
    // The server keeps its own deadline and logs when it is reached; the test only guards against a
    // hang (generously: a slow machine must not fail it), and reads the server's own account below.
    const code = await Promise.race([
      exited,
      new Promise((r) => setTimeout(() => r('still running'), HANG_GUARD_MS)),
    ]);
    // (A group already gone has nothing left to kill.)
    if (code === 'still running') await server.stop('SIGKILL').catch(() => null);
    expect({ code, output: server.output() }).toEqual({
      code: 0,
      output: expect.not.stringMatching(/shutdown (timeout reached|step failed)/),
    });
    expect(await inFlight.answered).toMatchObject({
      status: 200,
      body: { data: { viewer: { email: 'admin@test.local' } } },
    });
    await until(() => wsCloseCode !== null, 5_000, 'the WebSocket close');
    expect(wsCloseCode).toBe(1001);
    // The peer that never answered the close was cut, and the SSE stream ended with the server.
    expect(await silent.closed).toBe(true);
    await expect(
      Promise.race([
        overSse.done.then(
          () => 'ended',
          () => 'ended',
        ),
        new Promise((r) => setTimeout(() => r('open'), 5_000)),
      ]),
    ).resolves.toBe('ended');

    // Restarted, with the judge and the receiver answering: the running evaluation resumes at once.
    fake.reset();
    fake.on('Grade running', { text: JSON.stringify({ score: 1 }) });
    answering = true;
    server = await startServeProcess(env);
    let final = await state(running);
    for (let i = 0; i < 300 && final.status !== 'COMPLETED'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      final = await state(running);
    }
    expect(final).toMatchObject({
      status: 'COMPLETED',
      resultCounts: {
        total: RUNNING_ITEMS,
        completed: RUNNING_ITEMS,
        passed: RUNNING_ITEMS,
        failed: 0,
        errored: 0,
      },
      results: { totalCount: RUNNING_ITEMS },
    });
    // Handed back, not given up: the attempt cut short by the shutdown was not counted.
    expect(final.items.edges.map((e: any) => e.node)).toEqual(
      Array(RUNNING_ITEMS).fill({ state: 'DONE', attempts: 1 }),
    );
    expect(fake.calls.filter((c) => c.path.endsWith('/chat/completions'))).toHaveLength(
      RUNNING_ITEMS,
    );
    // The budget-stopped evaluation stays as it was.
    const after = await state(stopped);
    expect(after).toMatchObject({
      status: 'FAILED',
      errorCode: 'QUOTA_EXCEEDED',
      resultCounts: { total: BUDGETED_ITEMS, completed: 1, passed: 1, failed: 0, errored: 0 },
      results: { totalCount: 1 },
    });
    expect(after.items.edges.filter((e: any) => e.node.state === 'RUNNING')).toEqual([]);

    // The webhook delivery was handed back too: sent again at once, its one logged attempt the answered one.
    let deliveries: any[] = [];
    for (let i = 0; i < 200; i++) {
      deliveries = (await gql(DELIVERIES, { id: endpoint })).webhookDeliveries.edges.map(
        (e: any) => e.node,
      );
      if (deliveries.length && deliveries.every((d) => d.status === 'DELIVERED')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(deliveries).toEqual([
      {
        status: 'DELIVERED',
        attempts: 1,
        message: { eventType: 'evaluation.failed' },
        attemptLog: [{ statusCode: 200, error: null }],
      },
    ]);
    expect(receiver.received).toHaveLength(2);
    expect(await server.stop('SIGTERM')).toBe(0);
  } finally {
    for (const dispose of disposers) await dispose();
    await server?.stop('SIGKILL').catch(() => null);
    await deployment.close();
    await fake.close();
    await receiver.close();
  }
});
