// Live progress through real clients: graphql-ws over WebSocket and Server-Sent Events; late
// joins, project event streams, alerts, auth and roles.
import { globalId, type TestApp } from './support/app';
import { uuidOfGlobalId } from '../src/lib/ids';
import { emitAlert } from '../src/modules/alerts/events';
import { createEvaluation, waitFor } from './support/evaluations';
import type { FakeLlm } from './support/fake-llm';
import { judgeTestApp } from './support/judge-app';
import { subscribeSse, subscribeWs, until, wsClient } from './support/live';

let app: TestApp;
let fake: FakeLlm;
judgeTestApp(
  { EVALGRAPH_EVAL_CONCURRENCY: '2', EVALGRAPH_PROGRESS_INTERVAL_MS: '100' },
  (s) => ({ app, fake } = s),
);

export const PROGRESS = `subscription($id: ID!) { evaluationProgress(id: $id) {
  evaluationId status percentDone etaSeconds judgeCost
  resultCounts { total completed passed failed errored }
  perTestingCriteriaResults { name meanScore passed failed }
} }`;

/** A refused subscribe: one result with errors and no data, then the end of the stream. */
function codes(events: any[]): string[] {
  expect(events).toHaveLength(1);
  expect(events[0].data ?? null).toBeNull();
  return events[0].errors.map((e: any) => e.extensions.code);
}

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

/** An evaluation that takes about n × 25 ms (two at a time, 50 ms per judge call). */
async function slowEvaluation(n: number, key?: string) {
  fake.delayMs = 50;
  fake.on('Rate:', {
    text: JSON.stringify({ score: 0.8 }),
    usage: { prompt: 100, completion: 10 },
  });
  return createEvaluation(app, judged, items(n), { key });
}

function expectFullRun(events: any[], id: string, total: number) {
  const progress = events.map((e) => e.data.evaluationProgress);
  expect(events.every((e) => !e.errors)).toBe(true);
  expect(new Set(progress.map((p) => p.evaluationId))).toEqual(new Set([id]));
  // Several events, counts never going back, the last one final and complete.
  expect(progress.length).toBeGreaterThanOrEqual(3);
  const completed = progress.map((p) => p.resultCounts.completed);
  expect([...completed].sort((a, b) => a - b)).toEqual(completed);
  const last = progress.at(-1);
  expect(last).toMatchObject({
    status: 'COMPLETED',
    percentDone: 100,
    etaSeconds: null,
    resultCounts: { total, completed: total, passed: total, failed: 0, errored: 0 },
  });
  expect(last.perTestingCriteriaResults).toEqual([
    { name: 'q', meanScore: expect.closeTo(0.8, 9), passed: total, failed: 0 },
  ]);
  expect(progress.filter((p) => p.status === 'COMPLETED')).toHaveLength(1);
  // Judge spending is priced as it goes (the admin may see costs).
  expect(Number(last.judgeCost)).toBeGreaterThan(0);
  return progress;
}

describe('evaluationProgress', () => {
  it('over graphql-ws: from the state at subscribe to the final state, then the stream completes', async () => {
    const client = wsClient(app.url, app.adminKey);
    const id = await slowEvaluation(24);
    const sub = subscribeWs(client, PROGRESS, { id });
    const events = await sub.done;
    const progress = expectFullRun(events, id, 24);
    expect(progress[0].resultCounts.completed).toBeLessThan(24);
    // While running, an ETA is given once items are done.
    expect(
      progress.some(
        (p) =>
          p.status === 'RUNNING' &&
          p.resultCounts.completed > 0 &&
          typeof p.etaSeconds === 'number',
      ),
    ).toBe(true);
    await client.dispose();
  });

  it("over Server-Sent Events (Yoga's, with graphql-sse's client)", async () => {
    const id = await slowEvaluation(16);
    const sse = subscribeSse(app.url, app.adminKey, PROGRESS, { id });
    expectFullRun(await sse.done, id, 16);
    sse.dispose();
  });

  it('a client joining after the end gets the final state at once, and the stream completes', async () => {
    const id = await createEvaluation(
      app,
      [
        {
          type: 'string_check',
          name: 's',
          input: '{{sample.output_text}}',
          reference: 'x',
          operation: 'eq',
        },
      ],
      [
        { input: 1, output: 'x' },
        { input: 2, output: 'y' },
      ],
    );
    await waitFor(app, id);
    const client = wsClient(app.url, app.adminKey);
    const events = await subscribeWs(client, PROGRESS, { id }).done;
    expect(events.map((e) => e.data.evaluationProgress)).toEqual([
      expect.objectContaining({
        status: 'COMPLETED',
        percentDone: 100,
        resultCounts: { total: 2, completed: 2, passed: 1, failed: 1, errored: 0 },
      }),
    ]);
    await client.dispose();
  });

  it('many watchers of one evaluation share its reads and all see the end', async () => {
    const id = await slowEvaluation(12);
    const client = wsClient(app.url, app.adminKey);
    const subs = Array.from({ length: 20 }, () => subscribeWs(client, PROGRESS, { id }));
    await until(() => app.server.services.progress.stats().watchers >= 20, 5_000, '20 watchers');
    expect(app.server.services.progress.stats().evaluations).toBe(1);
    const all = await Promise.all(subs.map((s) => s.done));
    for (const events of all)
      expect(events.at(-1).data.evaluationProgress.status).toBe('COMPLETED');
    await until(
      () => app.server.services.progress.stats().watchers === 0,
      5_000,
      'watchers to leave',
    );
    await client.dispose();
  });

  it('watchers joining at once share one read of the state (the same object, so one execution per key)', async () => {
    const id = await createEvaluation(
      app,
      [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'a' }],
      [{ input: 1, output: 'a' }],
    );
    await waitFor(app, id);
    const uuid = uuidOfGlobalId(id, 'Evaluation')!;
    const progress = app.server.services.progress;
    const channels = Array.from({ length: 3 }, () => progress.watch(uuid));
    const first = await Promise.all(channels.map((c) => c.next()));
    expect(first.every((r) => !r.done)).toBe(true);
    expect(first[1].value).toBe(first[0].value);
    expect(first[2].value).toBe(first[0].value);
    // The final state ends each stream.
    for (const c of channels) expect(await c.next()).toEqual({ done: true, value: undefined });
    expect(progress.stats().evaluations).toBe(0);
  });

  it('answers an evaluation of another project as an unknown one (NOT_FOUND)', async () => {
    const other = await app.seedProject();
    const id = await createEvaluation(
      app,
      [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'a' }],
      [{ input: 1, output: 'a' }],
      { projectId: other },
    );
    const outsider = await app.seedUser({ role: 'VIEWER' });
    const client = wsClient(app.url, outsider.key);
    expect(codes(await subscribeWs(client, PROGRESS, { id }).done)).toEqual(['NOT_FOUND']);
    expect(
      codes(
        await subscribeWs(client, PROGRESS, {
          id: globalId('Evaluation', '0190c7d4-0000-7000-8000-000000000000'),
        }).done,
      ),
    ).toEqual(['NOT_FOUND']);
    await client.dispose();
  });

  it('gives a VIEWER progress without judge cost (null with FORBIDDEN on that field)', async () => {
    const viewer = await app.seedUser({ role: 'VIEWER' });
    const id = await createEvaluation(
      app,
      [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'a' }],
      [{ input: 1, output: 'a' }],
    );
    await waitFor(app, id);
    const client = wsClient(app.url, viewer.key);
    const [event] = await subscribeWs(client, PROGRESS, { id }).done;
    expect(event.data.evaluationProgress).toMatchObject({ status: 'COMPLETED', judgeCost: null });
    expect(event.errors.map((e: any) => [e.path.at(-1), e.extensions.code])).toEqual([
      ['judgeCost', 'FORBIDDEN'],
    ]);
    await client.dispose();
  });
});

describe('evaluationEvents', () => {
  it("streams a project's evaluation lifecycle in order, and nothing of other projects", async () => {
    const client = wsClient(app.url, app.adminKey);
    const sub = subscribeWs(
      client,
      `subscription($p: ID!) { evaluationEvents(projectId: $p) { type evaluationId evaluation { name } } }`,
      { p: globalId('Project', app.projectId) },
    );
    await until(
      () => app.server.services.subscriptions.openCount(adminKeyId()) > 0,
      5_000,
      'the subscription',
    );
    const other = await app.seedProject();
    await createEvaluation(
      app,
      [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'a' }],
      [{ input: 1, output: 'a' }],
      { projectId: other },
    );
    const id = await createEvaluation(
      app,
      [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'a' }],
      [
        { input: 1, output: 'a' },
        { input: 2, output: 'b' },
      ],
      { name: 'watched' },
    );
    await until(
      () => sub.events.some((e) => e.data.evaluationEvents.type === 'COMPLETED'),
      10_000,
      'COMPLETED',
    );
    sub.stop();
    const types = sub.events.map((e) => e.data.evaluationEvents);
    expect(new Set(types.map((t) => t.evaluationId))).toEqual(new Set([id]));
    expect(types[0]).toEqual({
      type: 'CREATED',
      evaluationId: id,
      evaluation: { name: 'watched' },
    });
    const order = types.map((t) => t.type).filter((t, i, all) => t !== all[i - 1]);
    expect(order).toEqual(['CREATED', 'STARTED', 'PROGRESS', 'COMPLETED']);
    expect(types.filter((t) => t.type === 'COMPLETED')).toHaveLength(1);
    await client.dispose();
  });

  it('is refused to a BILLING member (no read) with FORBIDDEN', async () => {
    const billing = await app.seedUser({ role: 'BILLING' });
    const client = wsClient(app.url, billing.key);
    expect(
      codes(
        await subscribeWs(
          client,
          `subscription($p: ID!) { evaluationEvents(projectId: $p) { type } }`,
          { p: globalId('Project', app.projectId) },
        ).done,
      ),
    ).toEqual(['FORBIDDEN']);
    await client.dispose();
  });
});

describe('alertFired', () => {
  it("delivers a project's alert notifications to its readers only", async () => {
    const other = await app.seedProject();
    const client = wsClient(app.url, app.adminKey);
    const query = `subscription($p: ID!) { alertFired(projectId: $p) { ruleId ruleName state value threshold windowSeconds at } }`;
    const mine = subscribeWs(client, query, { p: globalId('Project', app.projectId) });
    const theirs = subscribeWs(client, query, { p: globalId('Project', other) });
    await until(
      () => app.server.services.subscriptions.openCount(adminKeyId()) >= 2,
      5_000,
      'two subscriptions',
    );
    const at = new Date().toISOString();
    await app.server.services.events.transaction(async (_sql, emit) =>
      emitAlert(emit, {
        eventId: '0190c7d4-0000-7000-8000-0000000000e1',
        ruleId: '0190c7d4-0000-7000-8000-000000000001',
        ruleName: 'cost',
        metric: 'COST',
        projectId: app.projectId,
        fromState: 'OK',
        state: 'FIRING',
        value: 12.5,
        threshold: 10,
        windowSeconds: 300,
        at,
      }),
    );
    await until(() => mine.events.length === 1, 5_000, 'the alert');
    expect(mine.events[0].data.alertFired).toEqual({
      ruleId: globalId('AlertRule', '0190c7d4-0000-7000-8000-000000000001'),
      ruleName: 'cost',
      state: 'FIRING',
      value: 12.5,
      threshold: 10,
      windowSeconds: 300,
      at,
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(theirs.events).toEqual([]);
    await client.dispose();
  });
});

let keyIdCache: string | null = null;
function adminKeyId(): string {
  if (!keyIdCache) throw new Error('call loadAdminKeyId first');
  return keyIdCache;
}
beforeAll(async () => {
  const key = await app.server.deps.db.prisma.apiKey.findFirstOrThrow({
    where: { user: { email: 'admin@test.local' } },
  });
  keyIdCache = key.id;
});
