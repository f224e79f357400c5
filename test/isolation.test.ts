// A user never sees another project's data: every query root is checked here, and the last test
// fails when a new root field appears without being added to this file. What the caller may not
// see answers NOT_FOUND, as what does not exist (tenant-chain.test.ts compares the two answers).
import { getSchema } from '../src/schema';
import { createTestApp, globalId, type TestApp } from './support/app';
import { ingest, span } from './support/spans';

let app: TestApp;
let mine: string;
let theirs: string;
let me: { userId: string; key: string };
let them: { userId: string; key: string };
let theirKeyId: string;

beforeAll(async () => {
  app = await createTestApp();
  mine = await app.seedProject('mine');
  theirs = await app.seedProject('theirs');
  me = await app.seedUser({ role: 'ADMIN', projectId: mine });
  them = await app.seedUser({ role: 'ADMIN', projectId: theirs });
  theirKeyId = (
    await app.server.deps.db.prisma.apiKey.findFirstOrThrow({ where: { userId: them.userId } })
  ).id;
});
afterAll(() => app.close());

const covered = new Set<string>();
const root = (name: string) => covered.add(name);

describe('tenant isolation for every query root', () => {
  it('project(id): another project is refused', async () => {
    root('project');
    const ok = await app.gql(
      'query($id: ID!) { project(id: $id) { name } }',
      { id: globalId('Project', mine) },
      { key: me.key },
    );
    expect(ok.body.data.project.name).toBe('mine');
    const denied = await app.gql(
      'query($id: ID!) { project(id: $id) { name } }',
      { id: globalId('Project', theirs) },
      { key: me.key },
    );
    expect(denied.body.data?.project ?? null).toBeNull();
    expect(denied.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('projects: lists only my projects', async () => {
    root('projects');
    const res = await app.gql(
      '{ projects(first: 100) { totalCount edges { node { name } } } }',
      {},
      { key: me.key },
    );
    expect(res.body.data.projects).toEqual({ totalCount: 1, edges: [{ node: { name: 'mine' } }] });
  });

  it('node / nodes: another project, user or key is refused by its type', async () => {
    root('node');
    root('nodes');
    for (const id of [
      globalId('Project', theirs),
      globalId('User', them.userId),
      globalId('ApiKey', theirKeyId),
    ]) {
      const res = await app.gql(
        'query($id: ID!) { node(id: $id) { id } }',
        { id },
        { key: me.key },
      );
      expect(res.body.data?.node ?? null).toBeNull();
      expect(res.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    }
    const many = await app.gql(
      'query($ids: [ID!]!) { nodes(ids: $ids) { id } }',
      { ids: [globalId('Project', mine), globalId('Project', theirs)] },
      { key: me.key },
    );
    expect(many.body.data.nodes[0]).toEqual({ id: globalId('Project', mine) });
    expect(many.body.data.nodes[1]).toBeNull();
    expect(many.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('viewer: is always the key owner, and teammates are visible only through a shared project', async () => {
    root('viewer');
    const res = await app.gql('{ viewer { id } }', {}, { key: me.key });
    expect(res.body.data.viewer.id).toBe(globalId('User', me.userId));
    const members = await app.gql(
      'query($id: ID!) { project(id: $id) { members { edges { node { user { id } } } } } }',
      { id: globalId('Project', mine) },
      { key: me.key },
    );
    expect(members.body.data.project.members.edges.map((e: any) => e.node.user.id)).toEqual([
      globalId('User', me.userId),
    ]);
  });

  describe('traces and costs', () => {
    let theirTrace: string;
    let theirSpan: string;
    beforeAll(async () => {
      for (const [projectId, key] of [
        [mine, me.key],
        [theirs, them.key],
      ]) {
        const res = await ingest(
          app,
          projectId,
          [
            span({
              traceId: 'same-id',
              spanId: 'root',
              name: projectId === mine ? 'mine' : 'theirs',
              input: `the same words in ${projectId === mine ? 'mine' : 'theirs'}`,
              model: 'gpt-4o',
              inputTokens: 1000,
              outputTokens: 0,
            }),
          ],
          { key },
        );
        expect(res.body.errors).toBeUndefined();
      }
      const prisma = app.server.deps.db.prisma;
      const trace = await prisma.trace.findFirstOrThrow({ where: { projectId: theirs } });
      theirTrace = globalId('Trace', trace.id);
      theirSpan = globalId(
        'Span',
        (await prisma.span.findFirstOrThrow({ where: { traceId: trace.id } })).id,
      );
    });

    it('ingestSpans: cannot write to another project', async () => {
      const res = await ingest(
        app,
        theirs,
        [span({ traceId: 'x', spanId: 'y', name: 'intruder' })],
        { key: me.key },
      );
      expect(res.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      expect(
        await app.server.deps.db.prisma.trace.count({
          where: { projectId: theirs, externalId: 'x' },
        }),
      ).toBe(0);
    });

    it('traces: another project is refused; mine shows only mine', async () => {
      root('traces');
      const q = 'query($p: ID!) { traces(projectId: $p) { totalCount edges { node { name } } } }';
      const denied = await app.gql(q, { p: globalId('Project', theirs) }, { key: me.key });
      expect(denied.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      const ok = await app.gql(q, { p: globalId('Project', mine) }, { key: me.key });
      expect(ok.body.data.traces).toEqual({ totalCount: 1, edges: [{ node: { name: 'mine' } }] });
    });

    it('spans: another project is refused, its trace too; a search of mine shows only mine', async () => {
      root('spans');
      const q =
        'query($p: ID!, $f: SpanFilter!) { spans(projectId: $p, filter: $f) { edges { node { name } } } }';
      const denied = await app.gql(
        q,
        { p: globalId('Project', theirs), f: { text: 'the same words' } },
        { key: me.key },
      );
      expect(denied.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      const ok = await app.gql(
        q,
        { p: globalId('Project', mine), f: { text: 'the same words' } },
        { key: me.key },
      );
      expect(ok.body.data.spans).toEqual({ edges: [{ node: { name: 'mine' } }] });
      const theirTraceNamed = await app.gql(
        q,
        { p: globalId('Project', mine), f: { text: 'the same words', traceId: theirTrace } },
        { key: me.key },
      );
      expect(theirTraceNamed.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    });

    it("trace / span / node: another project's are refused", async () => {
      root('trace');
      root('span');
      for (const [q, id] of [
        ['query($id: ID!) { trace(id: $id) { name } }', theirTrace],
        ['query($id: ID!) { span(id: $id) { name } }', theirSpan],
        ['query($id: ID!) { node(id: $id) { id } }', theirTrace],
      ]) {
        const res = await app.gql(q, { id }, { key: me.key });
        expect([q, res.body.data]).toEqual([
          q,
          Object.fromEntries(Object.keys(res.body.data ?? {}).map((k) => [k, null])),
        ]);
        expect(res.body.data).not.toBeUndefined();
        expect(res.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      }
      const myTrace = globalId(
        'Trace',
        (await app.server.deps.db.prisma.trace.findFirstOrThrow({ where: { projectId: mine } })).id,
      );
      const many = await app.gql(
        'query($ids: [ID!]!) { nodes(ids: $ids) { ... on Trace { name } } }',
        { ids: [myTrace, theirTrace, theirSpan] },
        { key: me.key },
      );
      expect(many.body.data.nodes).toEqual([{ name: 'mine' }, null, null]);
      expect(many.body.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND', 'NOT_FOUND']);
    });

    it("modelPrices: another project's prices are refused", async () => {
      root('modelPrices');
      const set = await app.gql(
        'mutation($p: ID!) { upsertModelPrice(input: { projectId: $p, modelName: "secret-model", inputPrice: "1", outputPrice: "2" }) { modelPrice { modelName } } }',
        { p: globalId('Project', theirs) },
        { key: them.key },
      );
      expect(set.body.errors).toBeUndefined();
      const q =
        'query($p: ID) { modelPrices(first: 100, filter: { projectId: $p, builtIn: false }) { totalCount edges { node { modelName } } } }';
      const denied = await app.gql(q, { p: globalId('Project', theirs) }, { key: me.key });
      expect(denied.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      const mineOnly = await app.gql(q, { p: globalId('Project', mine) }, { key: me.key });
      expect(mineOnly.body.data.modelPrices.totalCount).toBe(0);
      const overwrite = await app.gql(
        'mutation($p: ID!) { upsertModelPrice(input: { projectId: $p, modelName: "secret-model", inputPrice: "0", outputPrice: "0" }) { modelPrice { id } } }',
        { p: globalId('Project', theirs) },
        { key: me.key },
      );
      expect(overwrite.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    });

    it('costSummary: another project is refused; without a project, only mine are summed', async () => {
      root('costSummary');
      const range = 'from: "2025-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z"';
      const denied = await app.gql(
        `query($p: ID!) { costSummary(projectId: $p, ${range}) { cost } }`,
        { p: globalId('Project', theirs) },
        { key: me.key },
      );
      expect(denied.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      const all = await app.gql(
        `{ costSummary(${range}, groupBy: [PROJECT]) { keys { projectId } cost calls } }`,
        {},
        { key: me.key },
      );
      // gpt-4o: 1000 input tokens × $2.50 per 1M
      expect(all.body.data.costSummary).toEqual([
        { keys: { projectId: globalId('Project', mine) }, cost: '0.0025', calls: 1 },
      ]);
    });

    it('metrics: another project is refused; my own is answered', async () => {
      root('metrics');
      const Q = `query($p: ID!) { metrics(projectId: $p, from: "2025-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z", interval: WEEK) { totals { calls cost } } }`;
      const denied = await app.gql(Q, { p: globalId('Project', theirs) }, { key: me.key });
      expect(denied.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      const own = await app.gql(Q, { p: globalId('Project', mine) }, { key: me.key });
      expect(own.body.data.metrics).toEqual([{ totals: { calls: 1, cost: '0.0025' } }]);
    });

    it('costForecast: another project is refused', async () => {
      root('costForecast');
      const Q = 'query($p: ID!) { costForecast(projectId: $p, horizon: MONTH) { spentSoFar } }';
      const denied = await app.gql(Q, { p: globalId('Project', theirs) }, { key: me.key });
      expect(denied.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      const own = await app.gql(Q, { p: globalId('Project', mine) }, { key: me.key });
      expect(own.body.errors).toBeUndefined();
    });
  });

  describe('evaluations and datasets', () => {
    let theirEvaluation: string;
    let theirDataset: string;
    let myEvaluation: string;
    beforeAll(async () => {
      for (const [projectId, key, name] of [
        [mine, me.key, 'mine'],
        [theirs, them.key, 'theirs'],
      ]) {
        const dataset = await app.gql(
          'mutation($input: CreateDatasetInput!) { createDataset(input: $input) { dataset { id } } }',
          {
            input: {
              projectId: globalId('Project', projectId),
              name,
              items: [{ input: name, output: name }],
            },
          },
          { key },
        );
        const datasetId = dataset.body.data.createDataset.dataset.id;
        const evaluation = await app.gql(
          'mutation($input: CreateEvaluationInput!) { createEvaluation(input: $input) { evaluation { id } } }',
          {
            input: {
              projectId: globalId('Project', projectId),
              name,
              testingCriteria: [
                { type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'i' },
              ],
              dataSource: { datasetId },
            },
          },
          { key },
        );
        if (projectId === theirs) {
          theirDataset = datasetId;
          theirEvaluation = evaluation.body.data.createEvaluation.evaluation.id;
        } else myEvaluation = evaluation.body.data.createEvaluation.evaluation.id;
      }
    });

    it('evaluations / datasets: another project is refused; mine lists only mine', async () => {
      root('evaluations');
      root('datasets');
      for (const list of ['evaluations', 'datasets']) {
        const q = `query($p: ID!) { ${list}(projectId: $p) { totalCount edges { node { name } } } }`;
        const denied = await app.gql(q, { p: globalId('Project', theirs) }, { key: me.key });
        expect([list, denied.body.errors?.[0].extensions?.code]).toEqual([list, 'NOT_FOUND']);
        const ok = await app.gql(q, { p: globalId('Project', mine) }, { key: me.key });
        expect(ok.body.data[list]).toEqual({ totalCount: 1, edges: [{ node: { name: 'mine' } }] });
      }
    });

    it("evaluation / dataset / node: another project's are refused, and its dataset cannot be evaluated from mine", async () => {
      root('evaluation');
      root('dataset');
      for (const [q, id] of [
        ['query($id: ID!) { evaluation(id: $id) { name } }', theirEvaluation],
        ['query($id: ID!) { dataset(id: $id) { name } }', theirDataset],
        ['query($id: ID!) { node(id: $id) { id } }', theirEvaluation],
      ]) {
        const res = await app.gql(q, { id }, { key: me.key });
        expect(Object.values(res.body.data ?? {})).toEqual([null]);
        expect(res.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      }
      const steal = await app.gql(
        'mutation($input: CreateEvaluationInput!) { createEvaluation(input: $input) { evaluation { id } } }',
        {
          input: {
            projectId: globalId('Project', mine),
            name: 'steal',
            testingCriteria: [
              { type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'i' },
            ],
            dataSource: { datasetId: theirDataset },
          },
        },
        { key: me.key },
      );
      expect(steal.body.errors?.[0].extensions).toMatchObject({
        code: 'NOT_FOUND',
        path: ['input', 'dataSource', 'datasetId'],
      });
      const cancel = await app.gql(
        'mutation($id: ID!) { cancelEvaluation(input: { id: $id }) { evaluation { id } } }',
        { id: theirEvaluation },
        { key: me.key },
      );
      expect(cancel.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      const add = await app.gql(
        'mutation($id: ID!) { addDatasetItems(input: { datasetId: $id, items: [{ input: "x" }] }) { addedCount } }',
        { id: theirDataset },
        { key: me.key },
      );
      expect(add.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    });

    it("compareEvaluations: another project's runs are refused, as either side", async () => {
      root('compareEvaluations');
      const q =
        'query($b: ID!, $c: ID!) { compareEvaluations(baseId: $b, candidateId: $c) { matchedItems } }';
      for (const [b, c, path] of [
        [theirEvaluation, theirEvaluation, 'baseId'],
        [myEvaluation, theirEvaluation, 'candidateId'],
        [theirEvaluation, myEvaluation, 'baseId'],
      ]) {
        const res = await app.gql(q, { b, c }, { key: me.key });
        expect([
          res.body.data?.compareEvaluations ?? null,
          res.body.errors?.[0].extensions,
        ]).toEqual([null, { code: 'NOT_FOUND', path: [path] }]);
      }
      const own = await app.gql(q, { b: theirEvaluation, c: theirEvaluation }, { key: them.key });
      expect(own.body.errors).toBeUndefined();
      expect(own.body.data.compareEvaluations.matchedItems).toBe(1);
    });
  });

  it('rateLimit: only my own bucket', async () => {
    root('rateLimit');
    for (const user of [me, them]) {
      await app.gql(
        'mutation($input: SetUserLimitsInput!) { setUserLimits(input: $input) { user { id } } }',
        { input: { userId: globalId('User', user.userId), capacity: 1000, restoreRate: 0.001 } },
      );
    }
    const remaining = async (key: string) =>
      (await app.gql('{ rateLimit { remaining } }', {}, { key })).body.data.rateLimit
        .remaining as number;
    const [mineBefore, theirsBefore] = [await remaining(me.key), await remaining(them.key)];
    await app.gql('{ projects(first: 100) { edges { node { name } } } }', {}, { key: me.key });
    expect(await remaining(me.key)).toBeLessThan(mineBefore);
    expect(await remaining(them.key)).toBe(theirsBefore);
  });

  it('usage and limits: my own, and no other project', async () => {
    root('usage');
    root('limits');
    const res = await app.gql(
      'query($p: ID!) { mine: usage(projectId: $p) { day } theirs: usage(projectId: $t) { day } limits { tier } }'.replace(
        '($p: ID!)',
        '($p: ID!, $t: ID!)',
      ),
      { p: globalId('Project', mine), t: globalId('Project', theirs) },
      { key: me.key },
    );
    expect(res.body.data.mine.day).toMatch(/^\d{4}-/);
    expect(res.body.data.theirs).toBeNull();
    expect(res.body.errors?.map((e) => [e.path?.[0], e.extensions?.code])).toEqual([
      ['theirs', 'NOT_FOUND'],
    ]);
    expect(res.body.data.limits.tier).toBe('FREE');
  });

  describe('webhooks', () => {
    let theirEndpoint: string;
    let theirDelivery: string;
    beforeAll(async () => {
      const prisma = app.server.deps.db.prisma;
      const endpoint = await prisma.webhookEndpoint.create({
        data: {
          projectId: theirs,
          url: 'https://hooks.example.com/x',
          events: ['webhook.test'],
          secrets: [],
          enabled: false,
        },
      });
      await prisma.webhookMessage.create({
        data: { id: 'msg_isolation', projectId: theirs, eventType: 'webhook.test', payload: '{}' },
      });
      const delivery = await prisma.webhookDelivery.create({
        data: { messageId: 'msg_isolation', endpointId: endpoint.id },
      });
      theirEndpoint = globalId('WebhookEndpoint', endpoint.id);
      theirDelivery = globalId('WebhookDelivery', delivery.id);
    });

    it('webhookEndpoints, webhookEndpoint, webhookDeliveries and node: another project is refused', async () => {
      root('webhookEndpoints');
      root('webhookEndpoint');
      root('webhookDeliveries');
      const list = await app.gql(
        'query($p: ID!) { webhookEndpoints(projectId: $p) { edges { node { id } } } }',
        { p: globalId('Project', theirs) },
        { key: me.key },
      );
      expect([
        list.body.data?.webhookEndpoints ?? null,
        list.body.errors?.[0].extensions?.code,
      ]).toEqual([null, 'NOT_FOUND']);
      const one = await app.gql(
        'query($id: ID!) { webhookEndpoint(id: $id) { url } }',
        { id: theirEndpoint },
        { key: me.key },
      );
      expect([
        one.body.data?.webhookEndpoint ?? null,
        one.body.errors?.[0].extensions?.code,
      ]).toEqual([null, 'NOT_FOUND']);
      const deliveries = await app.gql(
        'query($id: ID!) { webhookDeliveries(endpointId: $id) { edges { node { id } } } }',
        { id: theirEndpoint },
        { key: me.key },
      );
      expect([
        deliveries.body.data?.webhookDeliveries ?? null,
        deliveries.body.errors?.[0].extensions?.code,
      ]).toEqual([null, 'NOT_FOUND']);
      for (const id of [theirEndpoint, theirDelivery]) {
        const node = await app.gql(
          'query($id: ID!) { node(id: $id) { id } }',
          { id },
          { key: me.key },
        );
        expect([node.body.data?.node ?? null, node.body.errors?.[0].extensions?.code]).toEqual([
          null,
          'NOT_FOUND',
        ]);
      }
      // Their owner sees both.
      const own = await app.gql(
        'query($id: ID!) { node(id: $id) { id } }',
        { id: theirDelivery },
        { key: them.key },
      );
      expect(own.body.data.node).toEqual({ id: theirDelivery });
    });
  });

  describe('alerts', () => {
    let theirRule: string;
    beforeAll(async () => {
      const prisma = app.server.deps.db.prisma;
      const rule = await prisma.alertRule.create({
        data: {
          projectId: theirs,
          name: 'theirs',
          metric: 'COST',
          aggregation: 'SUM',
          operator: 'GT',
          threshold: 1,
          windowSeconds: 60,
          enabled: false,
        },
      });
      await prisma.alertEvent.create({
        data: {
          ruleId: rule.id,
          projectId: theirs,
          fromState: 'OK',
          toState: 'FIRING',
          value: 2,
          threshold: 1,
          windowStart: new Date(),
          windowEnd: new Date(),
        },
      });
      theirRule = globalId('AlertRule', rule.id);
    });

    it('alertRules, alertRule, alertEvents and node: another project is refused', async () => {
      root('alertRules');
      root('alertRule');
      root('alertEvents');
      root('testAlertRule');
      const p = globalId('Project', theirs);
      const refused = async (query: string, variables: Record<string, unknown>, field: string) => {
        const res = await app.gql(query, variables, { key: me.key });
        expect([res.body.data?.[field] ?? null, res.body.errors?.[0].extensions?.code]).toEqual([
          null,
          'NOT_FOUND',
        ]);
      };
      await refused(
        'query($p: ID!) { alertRules(projectId: $p) { edges { node { id } } } }',
        { p },
        'alertRules',
      );
      await refused(
        'query($id: ID!) { alertRule(id: $id) { name } }',
        { id: theirRule },
        'alertRule',
      );
      await refused(
        'query($p: ID!) { alertEvents(projectId: $p) { edges { node { state } } } }',
        { p },
        'alertEvents',
      );
      await refused(
        'query($id: ID!) { alertEvents(ruleId: $id) { edges { node { state } } } }',
        { id: theirRule },
        'alertEvents',
      );
      await refused('query($id: ID!) { node(id: $id) { id } }', { id: theirRule }, 'node');
      // Measuring it answers as if it did not exist.
      const tested = await app.gql(
        'query($id: ID!) { testAlertRule(id: $id) { value } }',
        { id: theirRule },
        { key: me.key },
      );
      expect(tested.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      // Their owner sees them.
      const own = await app.gql(
        'query($id: ID!) { alertEvents(ruleId: $id) { edges { node { state ruleName } } } }',
        { id: theirRule },
        { key: them.key },
      );
      expect(own.body.data.alertEvents.edges.map((e: any) => e.node)).toEqual([
        { state: 'FIRING', ruleName: 'theirs' },
      ]);
    });
  });

  describe('online evaluation rules', () => {
    it('evaluationRules, evaluationRule and node: another project is refused', async () => {
      root('evaluationRules');
      root('evaluationRule');
      const rule = await app.server.deps.db.prisma.evaluationRule.create({
        data: {
          projectId: theirs,
          name: 'theirs',
          target: 'TRACE',
          samplingRate: 1,
          testingCriteria: [
            { type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'x' },
          ],
        },
      });
      const id = globalId('EvaluationRule', rule.id);
      for (const [query, variables, field] of [
        [
          'query($p: ID!) { evaluationRules(projectId: $p) { edges { node { id } } } }',
          { p: globalId('Project', theirs) },
          'evaluationRules',
        ],
        ['query($id: ID!) { evaluationRule(id: $id) { name } }', { id }, 'evaluationRule'],
        ['query($id: ID!) { node(id: $id) { id } }', { id }, 'node'],
      ] as const) {
        const res = await app.gql(query, variables, { key: me.key });
        expect([res.body.data?.[field] ?? null, res.body.errors?.[0].extensions?.code]).toEqual([
          null,
          'NOT_FOUND',
        ]);
      }
      const own = await app.gql(
        'query($id: ID!) { evaluationRule(id: $id) { name } }',
        { id },
        { key: them.key },
      );
      expect(own.body.data.evaluationRule).toEqual({ name: 'theirs' });
    });
  });

  it('scores, scoreSummary, scoreMetrics and scoreConfigs: another project is refused (scores-isolation.test.ts checks every input)', async () => {
    root('scores');
    root('scoreSummary');
    root('scoreMetrics');
    root('scoreConfigs');
    const p = globalId('Project', theirs);
    for (const [field, query] of [
      ['scores', 'query($p: ID!) { scores(projectId: $p) { totalCount } }'],
      [
        'scoreSummary',
        'query($p: ID!) { scoreSummary(projectId: $p, from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z") { count } }',
      ],
      [
        'scoreMetrics',
        'query($p: ID!) { scoreMetrics(projectId: $p, from: "2025-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z", interval: WEEK) { totals { count } } }',
      ],
      ['scoreConfigs', 'query($p: ID!) { scoreConfigs(projectId: $p) { totalCount } }'],
    ]) {
      const res = await app.gql(query, { p }, { key: me.key });
      expect([
        field,
        res.body.data?.[field] ?? null,
        res.body.errors?.[0].extensions?.code,
      ]).toEqual([field, null, 'NOT_FOUND']);
      const own = await app.gql(query, { p }, { key: them.key });
      expect([field, own.body.errors]).toEqual([field, undefined]);
    }
  });

  it('alertChannels and alertChannel: another project is refused (tenant-chain.test.ts checks the inputs)', async () => {
    root('alertChannels');
    root('alertChannel');
    const created = await app.gql(
      'mutation($p: ID!) { createAlertChannel(input: { projectId: $p, type: PAGERDUTY, name: "theirs", routingKey: "rk" }) { alertChannel { id } } }',
      { p: globalId('Project', theirs) },
      { key: them.key },
    );
    expect(created.body.errors).toBeUndefined();
    const id = created.body.data.createAlertChannel.alertChannel.id;
    for (const [field, query, variables] of [
      [
        'alertChannels',
        'query($p: ID!) { alertChannels(projectId: $p) { edges { node { name } } } }',
        { p: globalId('Project', theirs) },
      ],
      ['alertChannel', 'query($id: ID!) { alertChannel(id: $id) { name } }', { id }],
    ] as const) {
      const res = await app.gql(query, variables, { key: me.key });
      expect([
        field,
        res.body.data?.[field] ?? null,
        res.body.errors?.[0].extensions?.code,
      ]).toEqual([field, null, 'NOT_FOUND']);
      const own = await app.gql(query, variables, { key: them.key });
      expect([field, own.body.errors]).toEqual([field, undefined]);
    }
  });

  it('serviceStatus: instance admins only, not a project admin', async () => {
    root('serviceStatus');
    const res = await app.gql('{ serviceStatus { slos { name } } }', {}, { key: me.key });
    expect([res.body.data?.serviceStatus ?? null, res.body.errors?.[0].extensions?.code]).toEqual([
      null,
      'FORBIDDEN',
    ]);
    expect(
      (await app.gql('{ serviceStatus { slos { name } } }')).body.data.serviceStatus.slos,
    ).toHaveLength(5);
  });

  it('auditLog: another project is refused; without one, only my projects and no instance entries', async () => {
    root('auditLog');
    const denied = await app.gql(
      'query($p: ID!) { auditLog(projectId: $p) { edges { node { id } } } }',
      { p: globalId('Project', theirs) },
      { key: me.key },
    );
    expect([denied.body.data?.auditLog ?? null, denied.body.errors?.[0].extensions?.code]).toEqual([
      null,
      'NOT_FOUND',
    ]);
    const all = await app.gql(
      '{ auditLog(first: 100) { edges { node { projectId } } } }',
      {},
      { key: me.key },
    );
    expect(all.body.errors).toBeUndefined();
    for (const { node } of all.body.data.auditLog.edges)
      expect(node.projectId).toBe(globalId('Project', mine));
  });

  it('dataJobs: another project is refused', async () => {
    root('dataJobs');
    const DOC = 'query($p: ID!) { dataJobs(projectId: $p) { edges { node { id } } } }';
    const ok = await app.gql(DOC, { p: globalId('Project', mine) }, { key: me.key });
    expect(ok.body.errors).toBeUndefined();
    const denied = await app.gql(DOC, { p: globalId('Project', theirs) }, { key: me.key });
    expect([denied.body.data?.dataJobs ?? null, denied.body.errors?.[0].extensions?.code]).toEqual([
      null,
      'NOT_FOUND',
    ]);
  });

  it('covers every query root field of the schema', () => {
    const roots = Object.keys(getSchema().getQueryType()!.getFields()).sort();
    expect(roots.filter((name) => !covered.has(name))).toEqual([]);
  });
});
