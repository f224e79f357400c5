// Grouped alert rules (groupBy: one state per user, model or span kind) and ANOMALY rules (the
// window's value against median ± k·MAD of the previous periods), through HTTP with an injected
// clock: a group fires and resolves alone, with its group in the history, the alertFired event
// and the webhook; the bound on groups; baselines against hand-computed medians and MADs; too
// little history; validation; another project's key.
import { createTestApp, globalId, type TestApp } from './support/app';
import { subscribeWs, until, wsClient } from './support/live';
import { startReceiver, type Receiver } from './support/receiver';
import { ingest } from './support/spans';
import { createEndpoint } from './support/webhooks';

jest.setTimeout(120_000);

let app: TestApp;
let receiver: Receiver;
const T = Date.parse('2026-11-21T12:00:00.000Z');
const setClock = (ms: number) => (app.server.deps.clock.now = () => new Date(ms));
const evaluate = () => app.server.services.alertRules.evaluateDue();

const CREATE_RULE = `mutation($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { alertRule { id } } }`;
const TEST = `query($id: ID!) { testAlertRule(id: $id) {
  value samples historyPeriods wouldBecome truncatedGroups
  baseline { median mad lower upper periods }
  groups { group { by value } value samples historyPeriods wouldBecome baseline { median mad lower upper periods } }
} }`;
const HISTORY = `query($id: ID!) { alertEvents(ruleId: $id, first: 50) { edges { node {
  fromState state value threshold group { by value } baseline { median mad lower upper periods }
} } } }`;

let seq = 0;
/** `n` spans starting at `ms` (1 ms apart), with `over` on each. */
const spans = (n: number, ms: number, over: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) => {
    seq += 1;
    return {
      traceId: `g${seq}`,
      spanId: `g${seq}`,
      name: 'call',
      startTime: new Date(ms + i).toISOString(),
      ...over,
    };
  });

async function send(projectId: string, list: unknown[]) {
  for (let i = 0; i < list.length; i += 250) {
    const res = await ingest(app, projectId, list.slice(i, i + 250));
    expect(res.body.errors).toBeUndefined();
  }
}

async function createRule(projectId: string, input: Record<string, unknown>, key?: string) {
  const res = await app.gql(
    CREATE_RULE,
    {
      input: {
        projectId: globalId('Project', projectId),
        name: 'rule',
        windowSeconds: 60,
        intervalSeconds: 30,
        ...input,
      },
    },
    key ? { key } : undefined,
  );
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.createAlertRule.alertRule.id as string;
}

const tested = async (id: string) => {
  const res = await app.gql(TEST, { id });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.testAlertRule;
};
const history = async (id: string) =>
  (await app.gql(HISTORY, { id })).body.data.alertEvents.edges.map((e: any) => e.node).reverse();
/** Makes a rule due now (an update checks it again at once). */
const due = (id: string) =>
  app.gql(
    `mutation($id: ID!) { updateAlertRule(input: { id: $id, enabled: true }) { alertRule { id } } }`,
    { id },
  );

beforeAll(async () => {
  receiver = await startReceiver();
  app = await createTestApp({
    EVALGRAPH_ALERTS_POLL_MS: '3600000',
    EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  });
  setClock(T);
});

afterAll(async () => {
  await app?.close();
  await receiver?.close();
});

afterEach(() => setClock(T));

describe('a grouped rule', () => {
  it('fires for one user only and resolves for that user, with the group in its history, alertFired and the webhook', async () => {
    const project = await app.seedProject('per user');
    const projectId = globalId('Project', project);
    await createEndpoint(app, receiver.url, project, ['alert.fired', 'alert.resolved']);
    // "A user's cost above $5 today."
    const id = await createRule(project, {
      name: 'daily spend',
      metric: 'COST',
      aggregation: 'SUM',
      operator: 'GT',
      threshold: 5,
      windowSeconds: 86_400,
      groupBy: 'USER',
      noData: 'OK',
    });
    const client = wsClient(app.url, app.adminKey);
    const live = subscribeWs(
      client,
      `subscription($p: ID!) { alertFired(projectId: $p) { state value group { by value } } }`,
      { p: projectId },
    );
    await new Promise((r) => setTimeout(r, 200));
    receiver.received.length = 0;
    try {
      await send(project, [
        ...spans(1, T - 5_000, { userId: 'ann', totalCost: '3' }),
        ...spans(1, T - 4_000, { userId: 'ann', totalCost: '4' }),
        ...spans(2, T - 3_000, { userId: 'bob', totalCost: '1' }),
        ...spans(1, T - 2_000, { totalCost: '50' }), // no user: no group
      ]);
      setClock(T);
      const now = await tested(id);
      expect(now.value).toBeNull();
      expect(now.truncatedGroups).toBe(0);
      expect(now.groups).toEqual([
        {
          group: { by: 'USER', value: 'ann' },
          value: 7,
          samples: 2,
          historyPeriods: null,
          wouldBecome: 'FIRING',
          baseline: null,
        },
        {
          group: { by: 'USER', value: 'bob' },
          value: 2,
          samples: 2,
          historyPeriods: null,
          wouldBecome: 'OK',
          baseline: null,
        },
      ]);
      await evaluate();
      const RULE = `query($id: ID!) { alertRule(id: $id) { state lastValue groupBy truncatedGroups groups { edges { node { group { by value } state lastValue } } } } }`;
      expect((await app.gql(RULE, { id })).body.data.alertRule).toEqual({
        state: 'FIRING',
        lastValue: null,
        groupBy: 'USER',
        truncatedGroups: 0,
        groups: {
          edges: [{ node: { group: { by: 'USER', value: 'ann' }, state: 'FIRING', lastValue: 7 } }],
        },
      });
      // A day later ann's spans have left the window (no data: OK); bob spends again, still under.
      await send(project, spans(1, T + 86_000_000, { userId: 'bob', totalCost: '4' }));
      setClock(T + 86_400_000);
      await evaluate();
      expect(await history(id)).toEqual([
        {
          fromState: 'OK',
          state: 'FIRING',
          value: 7,
          threshold: 5,
          group: { by: 'USER', value: 'ann' },
          baseline: null,
        },
        {
          fromState: 'FIRING',
          state: 'RESOLVED',
          value: null,
          threshold: 5,
          group: { by: 'USER', value: 'ann' },
          baseline: null,
        },
      ]);
      const after = (await app.gql(RULE, { id })).body.data.alertRule;
      expect(after.state).toBe('RESOLVED');
      expect(after.groups.edges.map((e: any) => [e.node.group.value, e.node.state])).toEqual([
        ['ann', 'RESOLVED'],
      ]);
      await until(() => live.events.length === 2, 5_000, 'two alertFired events');
      expect(live.events.map((e) => e.data.alertFired)).toEqual([
        { state: 'FIRING', value: 7, group: { by: 'USER', value: 'ann' } },
        { state: 'RESOLVED', value: null, group: { by: 'USER', value: 'ann' } },
      ]);
      await until(() => receiver.received.length === 2, 10_000, 'two webhooks');
      const payloads = receiver.received
        .map((r) => JSON.parse(r.body))
        .sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
      expect(payloads.map((p) => [p.type, p.data.state, p.data.group])).toEqual([
        ['alert.fired', 'FIRING', { by: 'USER', value: 'ann' }],
        ['alert.resolved', 'RESOLVED', { by: 'USER', value: 'ann' }],
      ]);
    } finally {
      await client.dispose();
    }
  });

  it('groups models by their normalised name, and keeps the 1,000 groups with the highest values, saying how many it left out', async () => {
    const project = await app.seedProject('many users');
    await send(project, [
      ...spans(1, T - 30_000, { model: 'gpt-4o-2024-08-06' }),
      ...spans(1, T - 29_000, { model: 'openai/gpt-4o' }),
      ...spans(1, T - 28_000, { model: 'claude-3-5-sonnet-20241022' }),
    ]);
    const byModel = await createRule(project, {
      metric: 'SPAN_COUNT',
      aggregation: 'COUNT',
      operator: 'GT',
      threshold: 1,
      minSamples: 0,
      groupBy: 'MODEL',
    });
    expect(
      (await tested(byModel)).groups.map((g: any) => [g.group.value, g.value, g.wouldBecome]),
    ).toEqual([
      ['gpt-4o', 2, 'FIRING'],
      ['claude-3-5-sonnet', 1, 'OK'],
    ]);

    // 1,002 users with one span, one with three: 1,003 groups, 3 of the ones with 1 left out.
    await send(project, [
      ...Array.from({ length: 1_002 }, (_, i) => spans(1, T - 20_000 + i, { userId: `u${i}` })[0]),
      ...spans(3, T - 10_000, { userId: 'heavy' }),
    ]);
    const byUser = await createRule(project, {
      metric: 'SPAN_COUNT',
      aggregation: 'COUNT',
      operator: 'GT',
      threshold: 1,
      minSamples: 0,
      groupBy: 'USER',
    });
    const now = await tested(byUser);
    expect(now.truncatedGroups).toBe(3);
    expect(now.groups).toHaveLength(1_000);
    expect(now.groups[0]).toMatchObject({ group: { value: 'heavy' }, value: 3 });
    expect(now.groups.slice(1).every((g: any) => g.value === 1)).toBe(true);
    await evaluate();
    const rule = (
      await app.gql(
        `query($id: ID!) { alertRule(id: $id) { state truncatedGroups groups { edges { node { group { value } state } } } } }`,
        { id: byUser },
      )
    ).body.data.alertRule;
    expect(rule).toEqual({
      state: 'FIRING',
      truncatedGroups: 3,
      groups: { edges: [{ node: { group: { value: 'heavy' }, state: 'FIRING' } }] },
    });
  });
});

describe('an ANOMALY rule', () => {
  // Period p (1..N) is the window ending p windows before now; a span in its middle.
  const W = 60_000;
  const inPeriod = (now: number, p: number) => now - p * W - W / 2;

  it('does not fire on a steady history, fires on a spike, with the baseline of the hand-computed median and MAD', async () => {
    const project = await app.seedProject('anomalies');
    const S = T + 3_600_000;
    // Counts in periods 1..5: 10, 12, 11, 13, 9 → median 11, deviations 1, 1, 0, 2, 2 → MAD 1.
    const counts = [10, 12, 11, 13, 9];
    await send(
      project,
      counts.flatMap((n, i) => spans(n, inPeriod(S, i + 1))),
    );
    await send(project, spans(11, inPeriod(S, 0))); // steady
    const id = await createRule(project, {
      name: 'traffic anomaly',
      metric: 'SPAN_COUNT',
      aggregation: 'COUNT',
      operator: 'ANOMALY',
      anomalyK: 2,
      anomalyPeriods: 5,
    });
    setClock(S);
    const baseline = { median: 11, mad: 1, lower: 9, upper: 13, periods: 5 };
    expect(await tested(id)).toMatchObject({
      value: 11,
      historyPeriods: 5,
      baseline,
      wouldBecome: 'OK',
    });
    await evaluate();
    expect(await history(id)).toEqual([]);
    // A spike: 30 in the window.
    await send(project, spans(19, inPeriod(S, 0) + 100));
    await due(id);
    await evaluate();
    expect(await history(id)).toEqual([
      { fromState: 'OK', state: 'FIRING', value: 30, threshold: 13, group: null, baseline },
    ]);
    const rule = await app.gql(
      `query($id: ID!) { alertRule(id: $id) { operator threshold anomalyK anomalyPeriods state } }`,
      { id },
    );
    expect(rule.body.data.alertRule).toEqual({
      operator: 'ANOMALY',
      threshold: null,
      anomalyK: 2,
      anomalyPeriods: 5,
      state: 'FIRING',
    });
  });

  it('takes any change from a flat history as an anomaly', async () => {
    const project = await app.seedProject('flat');
    const S = T + 7_200_000;
    await send(
      project,
      [1, 2, 3].flatMap((p) => spans(5, inPeriod(S, p))),
    );
    await send(project, spans(6, inPeriod(S, 0)));
    const id = await createRule(project, {
      metric: 'SPAN_COUNT',
      aggregation: 'COUNT',
      operator: 'ANOMALY',
      anomalyPeriods: 3,
    });
    setClock(S);
    const now = await tested(id);
    expect(now.value).toBe(6);
    expect(now.baseline.median).toBe(5);
    expect(now.baseline.mad).toBe(0);
    expect(now.baseline.lower).toBeCloseTo(5, 6);
    expect(now.baseline.upper).toBeCloseTo(5, 6);
    expect(now.wouldBecome).toBe('FIRING');
  });

  it('with too little history does not fire, and says why (null baseline, the periods found)', async () => {
    const project = await app.seedProject('young');
    const S = T + 10_800_000;
    // Counts: traffic began 3 periods ago; the periods before that are no history, not zeros.
    await send(
      project,
      [1, 2, 3].flatMap((p) => spans(2, inPeriod(S, p))),
    );
    await send(project, spans(100, inPeriod(S, 0)));
    const counted = await createRule(project, {
      metric: 'SPAN_COUNT',
      aggregation: 'COUNT',
      operator: 'ANOMALY',
      anomalyPeriods: 5,
    });
    // Latency: period 2 has no spans, so no latency (not 0): 4 periods of the 5 asked for.
    const other = await app.seedProject('young latency');
    await send(other, [
      ...[1, 3, 4, 5].flatMap((p) => {
        const start = inPeriod(S, p);
        return spans(1, start, { endTime: new Date(start + 100).toISOString(), userId: 'lat' });
      }),
      ...spans(1, inPeriod(S, 0) + 500, {
        endTime: new Date(inPeriod(S, 0) + 500 + 90_000).toISOString(),
        userId: 'lat',
      }),
    ]);
    const latency = await createRule(other, {
      metric: 'LATENCY_MS',
      aggregation: 'AVG',
      operator: 'ANOMALY',
      anomalyPeriods: 5,
      filter: { userId: 'lat' },
    });
    setClock(S);
    expect(await tested(counted)).toMatchObject({
      value: 100,
      historyPeriods: 3,
      baseline: null,
      wouldBecome: 'OK',
    });
    expect(await tested(latency)).toMatchObject({
      value: 90_000,
      historyPeriods: 4,
      baseline: null,
      wouldBecome: 'OK',
    });
    await evaluate();
    expect(await history(counted)).toEqual([]);
    expect(await history(latency)).toEqual([]);
  });

  it('grouped, keeps one baseline per group', async () => {
    const project = await app.seedProject('anomalies per user');
    const S = T + 14_400_000;
    // a: 2, 3, 4 → median 3, MAD 1, bounds 0..6 (k 3); b: 10, 20, 30 → median 20, MAD 10, -10..50.
    await send(project, [
      ...[2, 3, 4].flatMap((n, i) => spans(n, inPeriod(S, i + 1), { userId: 'a' })),
      ...[10, 20, 30].flatMap((n, i) => spans(n, inPeriod(S, i + 1), { userId: 'b' })),
      ...spans(10, inPeriod(S, 0), { userId: 'a' }),
      ...spans(40, inPeriod(S, 0), { userId: 'b' }),
    ]);
    const id = await createRule(project, {
      metric: 'SPAN_COUNT',
      aggregation: 'COUNT',
      operator: 'ANOMALY',
      anomalyPeriods: 3,
      groupBy: 'USER',
    });
    setClock(S);
    const a = { median: 3, mad: 1, lower: 0, upper: 6, periods: 3 };
    const b = { median: 20, mad: 10, lower: -10, upper: 50, periods: 3 };
    expect(
      (await tested(id)).groups.map((g: any) => [
        g.group.value,
        g.value,
        g.baseline,
        g.wouldBecome,
      ]),
    ).toEqual([
      ['b', 40, b, 'OK'],
      ['a', 10, a, 'FIRING'],
    ]);
    await evaluate();
    expect(await history(id)).toEqual([
      {
        fromState: 'OK',
        state: 'FIRING',
        value: 10,
        threshold: 6,
        group: { by: 'USER', value: 'a' },
        baseline: a,
      },
    ]);
  });
});

describe('validation and access', () => {
  const base = {
    metric: 'SPAN_COUNT',
    aggregation: 'COUNT',
    operator: 'ANOMALY',
  };
  const refused = async (input: Record<string, unknown>) => {
    const res = await app.gql(CREATE_RULE, {
      input: {
        projectId: globalId('Project', app.projectId),
        name: 'bad',
        windowSeconds: 60,
        ...base,
        ...input,
      },
    });
    const error = res.body.errors?.[0];
    return [error?.extensions?.code, error?.extensions?.path ?? error?.path];
  };

  it('refuses bad anomaly settings, thresholds and groupings, with BAD_USER_INPUT and the field', async () => {
    expect(await refused({ threshold: 3 })).toEqual(['BAD_USER_INPUT', ['input', 'threshold']]);
    expect(await refused({ operator: 'GT' })).toEqual(['BAD_USER_INPUT', ['input', 'threshold']]);
    expect(await refused({ anomalyPeriods: 2 })).toEqual([
      'BAD_USER_INPUT',
      ['input', 'anomalyPeriods'],
    ]);
    expect(await refused({ anomalyPeriods: 101 })).toEqual([
      'BAD_USER_INPUT',
      ['input', 'anomalyPeriods'],
    ]);
    expect(await refused({ anomalyK: 0 })).toEqual(['BAD_USER_INPUT', ['input', 'anomalyK']]);
    expect(await refused({ anomalyK: -1 })).toEqual(['BAD_USER_INPUT', ['input', 'anomalyK']]);
    expect(await refused({ warningThreshold: 2 })).toEqual([
      'BAD_USER_INPUT',
      ['input', 'warningThreshold'],
    ]);
    expect(
      await refused({
        metric: 'EVAL_SCORE',
        aggregation: 'AVG',
        operator: 'GT',
        threshold: 1,
        groupBy: 'MODEL',
      }),
    ).toEqual(['BAD_USER_INPUT', ['input', 'groupBy']]);
    expect(await refused({ windowSeconds: 30 * 86_400, anomalyPeriods: 100 })).toEqual([
      'BAD_USER_INPUT',
      ['input', 'anomalyPeriods'],
    ]);
  });

  it('switches a rule to ANOMALY and back with update, the threshold going and coming', async () => {
    const id = await createRule(app.projectId, {
      metric: 'SPAN_COUNT',
      aggregation: 'COUNT',
      operator: 'GT',
      threshold: 5,
    });
    const UPDATE = `mutation($input: UpdateAlertRuleInput!) { updateAlertRule(input: $input) { alertRule { operator threshold groupBy } } }`;
    const toAnomaly = await app.gql(UPDATE, { input: { id, operator: 'ANOMALY' } });
    expect(toAnomaly.body.data.updateAlertRule.alertRule).toEqual({
      operator: 'ANOMALY',
      threshold: null,
      groupBy: null,
    });
    const noThreshold = await app.gql(UPDATE, { input: { id, operator: 'LT' } });
    expect(noThreshold.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const back = await app.gql(UPDATE, {
      input: { id, operator: 'LT', threshold: 2, groupBy: 'SPAN_KIND' },
    });
    expect(back.body.data.updateAlertRule.alertRule).toEqual({
      operator: 'LT',
      threshold: 2,
      groupBy: 'SPAN_KIND',
    });
  });

  it("another project's key can neither read nor change a grouped or anomaly rule (NOT_FOUND)", async () => {
    const outsider = await app.seedUser({
      role: 'ADMIN',
      projectId: await app.seedProject('outsiders'),
    });
    const id = await createRule(app.projectId, {
      metric: 'SPAN_COUNT',
      aggregation: 'COUNT',
      operator: 'ANOMALY',
      groupBy: 'USER',
    });
    const as = (query: string, variables: Record<string, unknown>) =>
      app.gql(query, variables, { key: outsider.key });
    const read = await as(
      `query($id: ID!) { alertRule(id: $id) { groups { edges { node { state } } } } }`,
      {
        id,
      },
    );
    expect(read.body.data?.alertRule ?? null).toBeNull();
    expect(read.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const codes = await Promise.all([
      as(TEST, { id }),
      as(HISTORY, { id }),
      as(
        `mutation($input: UpdateAlertRuleInput!) { updateAlertRule(input: $input) { alertRule { id } } }`,
        { input: { id, groupBy: 'MODEL', anomalyK: 5 } },
      ),
      as(`mutation($id: ID!) { deleteAlertRule(input: { id: $id }) { deletedAlertRuleId } }`, {
        id,
      }),
    ]);
    expect(codes.map((r) => r.body.errors?.[0]?.extensions?.code)).toEqual([
      'NOT_FOUND',
      'NOT_FOUND',
      'NOT_FOUND',
      'NOT_FOUND',
    ]);
    const mine = await app.gql(`query($id: ID!) { alertRule(id: $id) { groupBy anomalyK } }`, {
      id,
    });
    expect(mine.body.data.alertRule).toEqual({ groupBy: 'USER', anomalyK: 3 });
  });
});
