// Attacks in chains, as the admin of another project would make them: every id in every argument
// and input, over HTTP and WebSocket. A foreign id must answer exactly as a missing one does
// (NOT_FOUND, same message, same data), and nothing may be written on the way.
import { randomUUID } from 'node:crypto';
import { createTestApp, globalId, type TestApp } from './support/app';
import { subscribeWs, wsClient } from './support/live';

let app: TestApp;
let projectA: string;
let projectB: string;
/** A user of project A only, with an unbound key and a key bound to A. */
let victim: { userId: string; key: string; email: string };
let victimKeyA: { id: string; key: string };
/** The ADMIN of project B, and nothing else. */
let mallory: { userId: string; key: string; email: string };

const CREATE_KEY =
  'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { id project { id } } } }';
const REVOKE_KEY =
  'mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id revokedAt } } }';
const ADD_MEMBER =
  'mutation($input: AddProjectMemberInput!) { addProjectMember(input: $input) { membership { role user { email name createdAt isAdmin tier } } } }';

beforeAll(async () => {
  app = await createTestApp();
  projectA = await app.seedProject('A');
  projectB = await app.seedProject('B');
  victim = await app.seedUser({ role: 'DEVELOPER', projectId: projectA });
  mallory = await app.seedUser({ role: 'ADMIN', projectId: projectB });
  const bound = await app.gql(
    CREATE_KEY,
    { input: { projectId: globalId('Project', projectA), name: 'A only' } },
    { key: victim.key },
  );
  victimKeyA = {
    id: bound.body.data.createApiKey.apiKey.id,
    key: bound.body.data.createApiKey.key,
  };
});
afterAll(() => app.close());

const codeOf = (res: { body: { errors?: { extensions?: Record<string, any> }[] } }) =>
  res.body.errors?.[0]?.extensions?.code;

/** Mallory's call with another project's id answers exactly as with a missing one: NOT_FOUND. */
async function answersAsMissing(
  _what: string,
  document: string,
  foreignVars: () => Record<string, unknown>,
  missingVars: () => Record<string, unknown>,
) {
  const foreign = await app.gql(document, foreignVars(), { key: mallory.key });
  const absent = await app.gql(document, missingVars(), { key: mallory.key });
  expect(codeOf(foreign)).toBe('NOT_FOUND');
  expect(foreign.status).toBe(absent.status);
  expect(foreign.body.data ?? null).toEqual(absent.body.data ?? null);
  const shown = (res: typeof foreign) =>
    res.body.errors?.map((e: any) => [e.message, e.path, e.extensions?.code, e.extensions?.path]);
  expect(shown(foreign)).toEqual(shown(absent));
}

describe('a project admin cannot take over another project’s user', () => {
  it("cannot remove another project's member, nor tell a stranger from a missing user", async () => {
    const REMOVE =
      'mutation($p: ID!, $u: ID!) { removeProjectMember(input: { projectId: $p, userId: $u }) { removedUserId } }';
    const missing = globalId('User', randomUUID());
    // In project A: Mallory cannot see it.
    await answersAsMissing(
      'removeProjectMember A',
      REMOVE,
      () => ({ p: globalId('Project', projectA), u: globalId('User', victim.userId) }),
      () => ({ p: globalId('Project', randomUUID()), u: missing }),
    );
    // In Mallory's own project B: the victim is no member there, exactly as nobody is.
    await answersAsMissing(
      'removeProjectMember B',
      REMOVE,
      () => ({ p: globalId('Project', projectB), u: globalId('User', victim.userId) }),
      () => ({ p: globalId('Project', projectB), u: missing }),
    );
    expect(
      await app.server.deps.db.prisma.membership.count({
        where: { userId: victim.userId, projectId: projectA },
      }),
    ).toBe(1);
  });

  it('adds members by email only: a user id is not accepted', async () => {
    const byId = await app.gql(
      'mutation($input: AddProjectMemberInput!) { addProjectMember(input: $input) { membership { role } } }',
      {
        input: {
          projectId: globalId('Project', projectB),
          userId: globalId('User', victim.userId),
          role: 'VIEWER',
        },
      },
      { key: mallory.key },
    );
    expect(byId.body.errors?.length).toBeGreaterThan(0);
    expect(
      await app.server.deps.db.prisma.membership.count({
        where: { userId: victim.userId, projectId: projectB },
      }),
    ).toBe(0);
  });

  it('adding by email answers alike for known and unknown people, and shows no instance standing', async () => {
    const known = await app.gql(
      ADD_MEMBER,
      { input: { projectId: globalId('Project', projectB), email: victim.email, role: 'VIEWER' } },
      { key: mallory.key },
    );
    const stranger = `nobody-${randomUUID()}@test.local`;
    const unknown = await app.gql(
      ADD_MEMBER,
      { input: { projectId: globalId('Project', projectB), email: stranger, role: 'VIEWER' } },
      { key: mallory.key },
    );
    for (const [res, email] of [
      [known, victim.email],
      [unknown, stranger],
    ] as const) {
      expect(res.body.data.addProjectMember.membership).toEqual({
        role: 'VIEWER',
        user: { email, name: null, createdAt: null, isAdmin: null, tier: null },
      });
      expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual([
        'FORBIDDEN',
        'FORBIDDEN',
        'FORBIDDEN',
        'FORBIDDEN',
      ]);
    }
    // The stranger exists now, without keys: only an instance admin can give them one.
    const created = await app.server.deps.db.prisma.user.findUniqueOrThrow({
      where: { email: stranger },
      include: { apiKeys: true },
    });
    expect(created.apiKeys).toEqual([]);
    // Nor does a teammate's id tell when they joined the instance: user ids are random (v4), not time-ordered.
    expect([created.id[14], victim.userId[14]]).toEqual(['4', '4']);
  });

  it('cannot mint a key for someone else, whatever the project or the id', async () => {
    const attempts = [
      { projectId: globalId('Project', projectB), userId: globalId('User', victim.userId) },
      { userId: globalId('User', victim.userId) },
      { projectId: globalId('Project', projectB), userId: globalId('User', randomUUID()) },
    ];
    for (const input of attempts) {
      const res = await app.gql(CREATE_KEY, { input }, { key: mallory.key });
      expect([input, codeOf(res), res.body.data?.createApiKey ?? null]).toEqual([
        input,
        'FORBIDDEN',
        null,
      ]);
    }
    expect(await app.server.deps.db.prisma.apiKey.count({ where: { userId: victim.userId } })).toBe(
      2,
    );
  });

  it("cannot see or revoke the user's keys of another project, nor learn about strangers by id", async () => {
    const revoke = await app.gql(REVOKE_KEY, { id: victimKeyA.id }, { key: mallory.key });
    const missing = await app.gql(
      REVOKE_KEY,
      { id: globalId('ApiKey', randomUUID()) },
      { key: mallory.key },
    );
    expect(codeOf(revoke)).toBe('NOT_FOUND');
    expect([revoke.body.data, revoke.body.errors]).toEqual([
      missing.body.data,
      missing.body.errors,
    ]);
    expect((await app.gql('{ viewer { id } }', {}, { key: victimKeyA.key })).status).toBe(200);

    const stranger = await app.seedUser({ role: 'VIEWER', projectId: projectA });
    for (const id of [victimKeyA.id, globalId('User', stranger.userId)]) {
      const [type] = Buffer.from(id, 'base64').toString().split(':');
      const foreign = await app.gql(
        'query($id: ID!) { node(id: $id) { id } }',
        { id },
        { key: mallory.key },
      );
      const absent = await app.gql(
        'query($id: ID!) { node(id: $id) { id } }',
        { id: globalId(type, randomUUID()) },
        { key: mallory.key },
      );
      expect([type, codeOf(foreign)]).toEqual([type, 'NOT_FOUND']);
      expect([foreign.body.data, foreign.body.errors]).toEqual([
        absent.body.data,
        absent.body.errors,
      ]);
    }
  });

  it('a key bound to a project lists, creates and revokes only keys bound to that project', async () => {
    // The victim, now a member of B, makes a key bound to B: that key acts in B only.
    const made = await app.gql(
      CREATE_KEY,
      { input: { projectId: globalId('Project', projectB), name: 'B only' } },
      { key: victim.key },
    );
    expect(made.body.errors).toBeUndefined();
    const keyB = made.body.data.createApiKey.key;

    const listed = await app.gql(
      '{ viewer { apiKeys { totalCount edges { node { name project { id } } } } } }',
      {},
      { key: keyB },
    );
    expect(listed.body.data.viewer.apiKeys).toEqual({
      totalCount: 1,
      edges: [{ node: { name: 'B only', project: { id: globalId('Project', projectB) } } }],
    });

    const revokeA = await app.gql(REVOKE_KEY, { id: victimKeyA.id }, { key: keyB });
    expect(codeOf(revokeA)).toBe('NOT_FOUND');
    expect((await app.gql('{ viewer { id } }', {}, { key: victimKeyA.key })).status).toBe(200);

    // Unbound: refused. Bound to A, where the user is a member: not there for this key, as a project that does not exist.
    expect(codeOf(await app.gql(CREATE_KEY, { input: {} }, { key: keyB }))).toBe('FORBIDDEN');
    const toA = await app.gql(
      CREATE_KEY,
      { input: { projectId: globalId('Project', projectA) } },
      { key: keyB },
    );
    const toNowhere = await app.gql(
      CREATE_KEY,
      { input: { projectId: globalId('Project', randomUUID()) } },
      { key: keyB },
    );
    expect(codeOf(toA)).toBe('NOT_FOUND');
    expect(toA.body.errors).toEqual(toNowhere.body.errors);
    const node = await app.gql(
      'query($id: ID!) { node(id: $id) { id } }',
      { id: victimKeyA.id },
      { key: keyB },
    );
    expect(codeOf(node)).toBe('NOT_FOUND');
    // Teammates are those of B only: A's members are strangers to this key.
    const strangerOfB = await app.seedUser({ role: 'VIEWER', projectId: projectA });
    const teammate = await app.gql(
      'query($id: ID!) { node(id: $id) { id } }',
      { id: globalId('User', strangerOfB.userId) },
      { key: keyB },
    );
    expect(codeOf(teammate)).toBe('NOT_FOUND');
  });
});

describe('a foreign id answers exactly as a missing one, in every argument', () => {
  const ids: Record<string, string> = {};
  const missing = (type: string) => globalId(type, randomUUID());

  beforeAll(async () => {
    const prisma = app.server.deps.db.prisma;
    const dataset = await prisma.dataset.create({ data: { projectId: projectA, name: 'a' } });
    const evaluation = await prisma.evaluation.create({
      data: {
        projectId: projectA,
        name: 'a',
        testingCriteria: [],
        dataSource: {},
        status: 'COMPLETED',
      },
    });
    const endpoint = await prisma.webhookEndpoint.create({
      data: {
        projectId: projectA,
        url: 'https://hooks.example.com/a',
        events: ['webhook.test'],
        secrets: [],
        enabled: false,
      },
    });
    const ownEndpoint = await prisma.webhookEndpoint.create({
      data: {
        projectId: projectB,
        url: 'https://hooks.example.com/b',
        events: ['webhook.test'],
        secrets: [],
        enabled: false,
      },
    });
    await prisma.webhookMessage.create({
      data: { id: 'msg_chain_a', projectId: projectA, eventType: 'webhook.test', payload: '{}' },
    });
    await prisma.webhookDelivery.create({
      data: { messageId: 'msg_chain_a', endpointId: endpoint.id },
    });
    await prisma.webhookMessage.create({
      data: { id: 'msg_chain_b', projectId: projectB, eventType: 'webhook.test', payload: '{}' },
    });
    await prisma.webhookDelivery.create({
      data: { messageId: 'msg_chain_b', endpointId: ownEndpoint.id },
    });
    const rule = await prisma.alertRule.create({
      data: {
        projectId: projectA,
        name: 'a',
        metric: 'COST',
        aggregation: 'SUM',
        operator: 'GT',
        threshold: 1,
        windowSeconds: 60,
        enabled: false,
      },
    });
    const ownRule = await prisma.alertRule.create({
      data: {
        projectId: projectB,
        name: 'b',
        metric: 'COST',
        aggregation: 'SUM',
        operator: 'GT',
        threshold: 1,
        windowSeconds: 60,
        enabled: false,
      },
    });
    const channel = await prisma.alertChannel.create({
      data: {
        projectId: projectA,
        type: 'SLACK',
        name: 'a',
        url: 'https://hooks.slack.com/services/T0/B0/secret',
      },
    });
    Object.assign(ids, {
      channel: globalId('AlertChannel', channel.id),
      project: globalId('Project', projectA),
      ownProject: globalId('Project', projectB),
      dataset: globalId('Dataset', dataset.id),
      evaluation: globalId('Evaluation', evaluation.id),
      endpoint: globalId('WebhookEndpoint', endpoint.id),
      ownEndpoint: globalId('WebhookEndpoint', ownEndpoint.id),
      rule: globalId('AlertRule', rule.id),
      ownRule: globalId('AlertRule', ownRule.id),
    });
  });

  const criteria = [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'x' }];
  // [what, document, variables with the foreign id, variables with a missing id]
  const cases: [string, string, () => Record<string, unknown>, () => Record<string, unknown>][] = [
    [
      'project',
      'query($id: ID!) { project(id: $id) { name } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'traces',
      'query($id: ID!) { traces(projectId: $id) { totalCount } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'spans',
      'query($id: ID!) { spans(projectId: $id, filter: { text: "any phrase" }) { edges { node { id } } } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'evaluation',
      'query($id: ID!) { evaluation(id: $id) { name } }',
      () => ({ id: ids.evaluation }),
      () => ({ id: missing('Evaluation') }),
    ],
    [
      'dataset',
      'query($id: ID!) { dataset(id: $id) { name } }',
      () => ({ id: ids.dataset }),
      () => ({ id: missing('Dataset') }),
    ],
    [
      'webhookEndpoint',
      'query($id: ID!) { webhookEndpoint(id: $id) { url } }',
      () => ({ id: ids.endpoint }),
      () => ({ id: missing('WebhookEndpoint') }),
    ],
    [
      'webhookDeliveries',
      'query($id: ID!) { webhookDeliveries(endpointId: $id) { edges { node { id } } } }',
      () => ({ id: ids.endpoint }),
      () => ({ id: missing('WebhookEndpoint') }),
    ],
    [
      'alertRule',
      'query($id: ID!) { alertRule(id: $id) { name } }',
      () => ({ id: ids.rule }),
      () => ({ id: missing('AlertRule') }),
    ],
    [
      'testAlertRule',
      'query($id: ID!) { testAlertRule(id: $id) { value } }',
      () => ({ id: ids.rule }),
      () => ({ id: missing('AlertRule') }),
    ],
    [
      'nodes',
      'query($ids: [ID!]!) { nodes(ids: $ids) { id } }',
      () => ({ ids: [ids.evaluation] }),
      () => ({ ids: [missing('Evaluation')] }),
    ],
    [
      'modelPrices',
      'query($id: ID!) { modelPrices(filter: { projectId: $id }) { totalCount } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'costSummary',
      'query($id: ID!) { costSummary(projectId: $id, from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z") { cost } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'metrics',
      'query($id: ID!) { metrics(projectId: $id, from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z", interval: DAY) { totals { calls } } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'scoreMetrics',
      'query($id: ID!) { scoreMetrics(projectId: $id, from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z", interval: DAY) { totals { count } } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'costForecast',
      'query($id: ID!) { costForecast(projectId: $id, horizon: MONTH) { spentSoFar } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'usage',
      'query($id: ID!) { usage(projectId: $id) { day } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'addDatasetItems',
      'mutation($id: ID!) { addDatasetItems(input: { datasetId: $id, items: [{ input: "x" }] }) { addedCount } }',
      () => ({ id: ids.dataset }),
      () => ({ id: missing('Dataset') }),
    ],
    [
      'addProjectMember',
      'mutation($id: ID!) { addProjectMember(input: { projectId: $id, email: "x@test.local", role: ADMIN }) { membership { role } } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'cancelEvaluation',
      'mutation($id: ID!) { cancelEvaluation(input: { id: $id }) { evaluation { id } } }',
      () => ({ id: ids.evaluation }),
      () => ({ id: missing('Evaluation') }),
    ],
    [
      'rerunEvaluation',
      'mutation($id: ID!) { rerunEvaluation(input: { id: $id }) { evaluation { id } } }',
      () => ({ id: ids.evaluation }),
      () => ({ id: missing('Evaluation') }),
    ],
    [
      'createApiKey',
      'mutation($id: ID!) { createApiKey(input: { projectId: $id }) { key } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'createDataset',
      'mutation($id: ID!) { createDataset(input: { projectId: $id, name: "x" }) { dataset { id } } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'createEvaluation (project)',
      'mutation($id: ID!, $c: [JSON!]!) { createEvaluation(input: { projectId: $id, name: "x", testingCriteria: $c, dataSource: { items: [{ input: "x", output: "y" }] } }) { evaluation { id } } }',
      () => ({ id: ids.project, c: criteria }),
      () => ({ id: missing('Project'), c: criteria }),
    ],
    [
      'createEvaluation (dataset)',
      'mutation($p: ID!, $id: ID!, $c: [JSON!]!) { createEvaluation(input: { projectId: $p, name: "x", testingCriteria: $c, dataSource: { datasetId: $id } }) { evaluation { id } } }',
      () => ({ p: ids.ownProject, id: ids.dataset, c: criteria }),
      () => ({ p: ids.ownProject, id: missing('Dataset'), c: criteria }),
    ],
    [
      'createWebhookEndpoint',
      'mutation($id: ID!) { createWebhookEndpoint(input: { projectId: $id, url: "https://hooks.example.com/x", events: ["webhook.test"] }) { secret } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'updateWebhookEndpoint',
      'mutation($id: ID!) { updateWebhookEndpoint(input: { id: $id, enabled: false }) { webhookEndpoint { id } } }',
      () => ({ id: ids.endpoint }),
      () => ({ id: missing('WebhookEndpoint') }),
    ],
    [
      'deleteWebhookEndpoint',
      'mutation($id: ID!) { deleteWebhookEndpoint(input: { id: $id }) { deletedId } }',
      () => ({ id: ids.endpoint }),
      () => ({ id: missing('WebhookEndpoint') }),
    ],
    [
      'rotateWebhookSecret',
      'mutation($id: ID!) { rotateWebhookSecret(input: { id: $id }) { secret } }',
      () => ({ id: ids.endpoint }),
      () => ({ id: missing('WebhookEndpoint') }),
    ],
    [
      'sendTestWebhook',
      'mutation($id: ID!) { sendTestWebhook(input: { id: $id }) { messageId } }',
      () => ({ id: ids.endpoint }),
      () => ({ id: missing('WebhookEndpoint') }),
    ],
    [
      'redeliverFailed',
      'mutation($id: ID!) { redeliverFailed(input: { endpointId: $id, since: "2026-01-01T00:00:00Z" }) { redeliveries } }',
      () => ({ id: ids.endpoint }),
      () => ({ id: missing('WebhookEndpoint') }),
    ],
    [
      'redeliverWebhookMessage (message)',
      'mutation($id: String!) { redeliverWebhookMessage(input: { id: $id }) { redeliveries } }',
      () => ({ id: 'msg_chain_a' }),
      () => ({ id: 'msg_chain_missing' }),
    ],
    [
      'redeliverWebhookMessage (endpoint)',
      'mutation($id: ID!) { redeliverWebhookMessage(input: { id: "msg_chain_b", endpointId: $id }) { redeliveries } }',
      () => ({ id: ids.endpoint }),
      () => ({ id: missing('WebhookEndpoint') }),
    ],
    [
      'createAlertRule (project)',
      'mutation($id: ID!) { createAlertRule(input: { projectId: $id, name: "x", metric: COST, aggregation: SUM, operator: GT, threshold: 1, windowSeconds: 60 }) { alertRule { id } } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'createAlertRule (channel)',
      'mutation($p: ID!, $id: ID!) { createAlertRule(input: { projectId: $p, name: "x", metric: COST, aggregation: SUM, operator: GT, threshold: 1, windowSeconds: 60, channels: [$id] }) { alertRule { id } } }',
      () => ({ p: ids.ownProject, id: ids.endpoint }),
      () => ({ p: ids.ownProject, id: missing('WebhookEndpoint') }),
    ],
    [
      'updateAlertRule (rule)',
      'mutation($id: ID!) { updateAlertRule(input: { id: $id, threshold: 2 }) { alertRule { id } } }',
      () => ({ id: ids.rule }),
      () => ({ id: missing('AlertRule') }),
    ],
    [
      'updateAlertRule (channel)',
      'mutation($r: ID!, $id: ID!) { updateAlertRule(input: { id: $r, channels: [$id] }) { alertRule { id } } }',
      () => ({ r: ids.ownRule, id: ids.endpoint }),
      () => ({ r: ids.ownRule, id: missing('WebhookEndpoint') }),
    ],
    [
      'createAlertRule (alert channel)',
      'mutation($p: ID!, $id: ID!) { createAlertRule(input: { projectId: $p, name: "x", metric: COST, aggregation: SUM, operator: GT, threshold: 1, windowSeconds: 60, channelIds: [$id] }) { alertRule { id } } }',
      () => ({ p: ids.ownProject, id: ids.channel }),
      () => ({ p: ids.ownProject, id: missing('AlertChannel') }),
    ],
    [
      'updateAlertRule (alert channel)',
      'mutation($r: ID!, $id: ID!) { updateAlertRule(input: { id: $r, channelIds: [$id] }) { alertRule { id } } }',
      () => ({ r: ids.ownRule, id: ids.channel }),
      () => ({ r: ids.ownRule, id: missing('AlertChannel') }),
    ],
    [
      'alertChannel',
      'query($id: ID!) { alertChannel(id: $id) { name url deliveries { edges { node { id } } } } }',
      () => ({ id: ids.channel }),
      () => ({ id: missing('AlertChannel') }),
    ],
    [
      'node (alert channel)',
      'query($id: ID!) { node(id: $id) { ... on AlertChannel { name url } } }',
      () => ({ id: ids.channel }),
      () => ({ id: missing('AlertChannel') }),
    ],
    [
      'alertChannels',
      'query($id: ID!) { alertChannels(projectId: $id) { edges { node { id } } } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'createAlertChannel',
      'mutation($id: ID!) { createAlertChannel(input: { projectId: $id, type: SLACK, name: "x", url: "https://hooks.example.com/x" }) { alertChannel { id } } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'deleteAlertChannel',
      'mutation($id: ID!) { deleteAlertChannel(input: { id: $id }) { deletedAlertChannelId } }',
      () => ({ id: ids.channel }),
      () => ({ id: missing('AlertChannel') }),
    ],
    [
      'testAlertRule (query)',
      'query($id: ID!) { testAlertRule(id: $id) { value groups { value } } }',
      () => ({ id: ids.rule }),
      () => ({ id: missing('AlertRule') }),
    ],
    [
      'rotateApiKey',
      'mutation($id: ID!) { rotateApiKey(input: { id: $id }) { key } }',
      () => ({ id: victimKeyA.id }),
      () => ({ id: missing('ApiKey') }),
    ],
    [
      'updateApiKey',
      'mutation($id: ID!) { updateApiKey(input: { id: $id, allowedCidrs: ["0.0.0.0/0"] }) { apiKey { id } } }',
      () => ({ id: victimKeyA.id }),
      () => ({ id: missing('ApiKey') }),
    ],
    [
      'deleteAlertRule',
      'mutation($id: ID!) { deleteAlertRule(input: { id: $id }) { deletedAlertRuleId } }',
      () => ({ id: ids.rule }),
      () => ({ id: missing('AlertRule') }),
    ],
    [
      'testAlertRule (mutation)',
      'mutation($id: ID!) { testAlertRule(input: { id: $id }) { result { value } } }',
      () => ({ id: ids.rule }),
      () => ({ id: missing('AlertRule') }),
    ],
    [
      'ingestSpans',
      'mutation($id: ID!) { ingestSpans(input: { projectId: $id, spans: [{ traceId: "t", spanId: "s", name: "x", startTime: "2026-01-01T00:00:00Z" }] }) { acceptedCount } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'upsertModelPrice',
      'mutation($id: ID!) { upsertModelPrice(input: { projectId: $id, modelName: "m", inputPrice: "1", outputPrice: "1" }) { modelPrice { id } } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'setProjectBudget',
      'mutation($id: ID!) { setProjectBudget(input: { projectId: $id, evaluationsPerDay: 1 }) { project { id } } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'deleteDataset',
      'mutation($id: ID!) { deleteDataset(input: { id: $id }) { deletedDatasetId } }',
      () => ({ id: ids.dataset }),
      () => ({ id: missing('Dataset') }),
    ],
    [
      'deleteEvaluation',
      'mutation($id: ID!) { deleteEvaluation(input: { id: $id }) { deletedEvaluationId } }',
      () => ({ id: ids.evaluation }),
      () => ({ id: missing('Evaluation') }),
    ],
    [
      'setProjectRetention',
      'mutation($id: ID!) { setProjectRetention(input: { projectId: $id, traceDays: 1 }) { project { id } } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'registerPersistedOperations',
      'mutation($id: ID!) { registerPersistedOperations(input: { projectId: $id, operations: ["{ viewer { id } }"] }) { operations { hash } } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
  ];

  it.each(cases)('%s', answersAsMissing);

  it("a DEVELOPER of B deleting A's dataset or evaluation: NOT_FOUND as for missing ones", async () => {
    const developer = await app.seedUser({ role: 'DEVELOPER', projectId: projectB });
    for (const [document, foreign, absent] of [
      [
        'mutation($id: ID!) { deleteDataset(input: { id: $id }) { deletedDatasetId } }',
        ids.dataset,
        missing('Dataset'),
      ],
      [
        'mutation($id: ID!) { deleteEvaluation(input: { id: $id }) { deletedEvaluationId } }',
        ids.evaluation,
        missing('Evaluation'),
      ],
    ]) {
      const shown = async (id: string) =>
        (await app.gql(document, { id }, { key: developer.key })).body.errors?.map((e: any) => [
          e.message,
          e.extensions?.code,
        ]);
      expect(await shown(foreign)).toEqual([[expect.any(String), 'NOT_FOUND']]);
      expect(await shown(foreign)).toEqual(await shown(absent));
    }
  });

  it('deleteProject and deleteUser: FORBIDDEN to project ADMINs and DEVELOPERs, whatever the id', async () => {
    const developer = await app.seedUser({ role: 'DEVELOPER', projectId: projectB });
    for (const key of [mallory.key, developer.key])
      for (const [document, id] of [
        ['mutation($id: ID!) { deleteProject(input: { id: $id }) { job { id } } }', ids.project],
        ['mutation($id: ID!) { deleteProject(input: { id: $id }) { job { id } } }', ids.ownProject],
        [
          'mutation($id: ID!) { deleteProject(input: { id: $id }) { job { id } } }',
          missing('Project'),
        ],
        [
          'mutation($id: ID!) { deleteUser(input: { id: $id }) { user { id } } }',
          globalId('User', victim.userId),
        ],
        ['mutation($id: ID!) { deleteUser(input: { id: $id }) { user { id } } }', missing('User')],
      ])
        expect(codeOf(await app.gql(document, { id }, { key }))).toBe('FORBIDDEN');
    expect((await app.gql('{ viewer { id } }', {}, { key: victim.key })).status).toBe(200);
  });

  it('wrote nothing in the other project on the way', async () => {
    const prisma = app.server.deps.db.prisma;
    expect(await prisma.dataset.count({ where: { projectId: projectA } })).toBe(1);
    expect(await prisma.datasetItem.count({ where: { dataset: { projectId: projectA } } })).toBe(0);
    expect(await prisma.evaluation.count({ where: { projectId: projectA } })).toBe(1);
    expect(await prisma.webhookEndpoint.count({ where: { projectId: projectA } })).toBe(1);
    expect(await prisma.alertChannel.count({ where: { projectId: projectA } })).toBe(1);
    // The victim's key bound to A: neither rotated nor changed.
    expect((await app.gql('{ viewer { id } }', {}, { key: victimKeyA.key })).status).toBe(200);
    expect(
      await prisma.alertRule.findFirstOrThrow({ where: { projectId: projectA } }),
    ).toMatchObject({ threshold: 1 });
    expect(await prisma.trace.count({ where: { projectId: projectA } })).toBe(0);
    expect(await prisma.modelPrice.count({ where: { projectId: projectA } })).toBe(0);
    expect(
      await prisma.webhookDelivery.count({
        where: { messageId: 'msg_chain_b', attempts: { gt: 0 } },
      }),
    ).toBe(0);
  });

  it.each([
    [
      'evaluationProgress',
      'subscription($id: ID!) { evaluationProgress(id: $id) { status } }',
      () => ({ id: ids.evaluation }),
      () => ({ id: missing('Evaluation') }),
    ],
    [
      'evaluationEvents',
      'subscription($id: ID!) { evaluationEvents(projectId: $id) { type } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
    [
      'alertFired',
      'subscription($id: ID!) { alertFired(projectId: $id) { state } }',
      () => ({ id: ids.project }),
      () => ({ id: missing('Project') }),
    ],
  ] as const)(
    'subscription %s over WebSocket',
    async (_what, document, foreignVars, missingVars) => {
      const client = wsClient(app.url, mallory.key);
      try {
        const outcome = async (variables: Record<string, unknown>) =>
          // A refused subscribe answers one result with errors, then completes (or errors the stream).
          subscribeWs(client, document, variables).done.then(
            (events: { errors?: { message: string; extensions?: { code?: string } }[] }[]) =>
              events.flatMap((e) => e.errors ?? []).map((e) => [e.message, e.extensions?.code]),
            (errors: { message: string; extensions?: { code?: string } }[]) =>
              errors.map((e) => [e.message, e.extensions?.code]),
          );
        const foreign = await outcome(foreignVars());
        expect(foreign).toEqual([[expect.any(String), 'NOT_FOUND']]);
        expect(foreign).toEqual(await outcome(missingVars()));
      } finally {
        await client.dispose();
      }
    },
  );
});

describe('an instance admin naming a project that does not exist', () => {
  const p = () => globalId('Project', randomUUID());
  it.each([
    [
      'ingestSpans',
      'mutation($p: ID!) { ingestSpans(input: { projectId: $p, spans: [{ traceId: "t", spanId: "s", name: "x", startTime: "2026-01-01T00:00:00Z" }] }) { acceptedCount } }',
    ],
    [
      'createDataset',
      'mutation($p: ID!) { createDataset(input: { projectId: $p, name: "x" }) { dataset { id } } }',
    ],
    [
      'upsertModelPrice',
      'mutation($p: ID!) { upsertModelPrice(input: { projectId: $p, modelName: "m", inputPrice: "1", outputPrice: "1" }) { modelPrice { id } } }',
    ],
    [
      'createAlertRule',
      'mutation($p: ID!) { createAlertRule(input: { projectId: $p, name: "x", metric: COST, aggregation: SUM, operator: GT, threshold: 1, windowSeconds: 60 }) { alertRule { id } } }',
    ],
    [
      'setProjectBudget',
      'mutation($p: ID!) { setProjectBudget(input: { projectId: $p, evaluationsPerDay: 1 }) { project { id } } }',
    ],
    [
      'setProjectRetention',
      'mutation($p: ID!) { setProjectRetention(input: { projectId: $p, traceDays: 1 }) { project { id } } }',
    ],
    [
      'addProjectMember',
      'mutation($p: ID!) { addProjectMember(input: { projectId: $p, email: "someone@test.local", role: VIEWER }) { membership { role } } }',
    ],
    [
      'registerPersistedOperations',
      'mutation($p: ID!) { registerPersistedOperations(input: { projectId: $p, operations: ["{ viewer { id } }"] }) { operations { hash } } }',
    ],
    ['createApiKey', 'mutation($p: ID!) { createApiKey(input: { projectId: $p }) { key } }'],
    [
      'createEvaluation',
      'mutation($p: ID!) { createEvaluation(input: { projectId: $p, name: "x", testingCriteria: [{ type: "regex", name: "r", input: "{{sample.output_text}}", pattern: "a" }], dataSource: { items: [{ input: "x", output: "y" }] } }) { evaluation { id } } }',
    ],
    ['traces', 'query($p: ID!) { traces(projectId: $p) { totalCount } }'],
    [
      'spans',
      'query($p: ID!) { spans(projectId: $p, filter: { text: "any phrase" }) { edges { node { id } } } }',
    ],
    ['modelPrices', 'query($p: ID!) { modelPrices(filter: { projectId: $p }) { totalCount } }'],
    [
      'costSummary',
      'query($p: ID!) { costSummary(projectId: $p, from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z") { cost } }',
    ],
    [
      'metrics',
      'query($p: ID!) { metrics(projectId: $p, from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z", interval: DAY) { totals { calls } } }',
    ],
    [
      'scoreMetrics',
      'query($p: ID!) { scoreMetrics(projectId: $p, from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z", interval: DAY) { totals { count } } }',
    ],
    ['costForecast', 'query($p: ID!) { costForecast(projectId: $p, horizon: DAY) { spentSoFar } }'],
  ])('%s answers NOT_FOUND, not an internal error nor an empty answer', async (_what, document) => {
    const res = await app.gql(document, { p: p() });
    expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
  });

  it('over OTLP: 404', async () => {
    const res = await fetch(`${app.url}/v1/traces`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${app.adminKey}`,
        'x-evalgraph-project': randomUUID(),
      },
      body: JSON.stringify({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: '0af7651916cd43dd8448eb211c80319c',
                    spanId: 'b7ad6b7169203331',
                    name: 'otlp',
                    startTimeUnixNano: '1740830400000000000',
                    endTimeUnixNano: '1740830401000000000',
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(res.status).toBe(404);
  });
});

describe('an id that is not a uuid inside a well-formed global id', () => {
  const junk = (type: string) => Buffer.from(`${type}:not-a-uuid`).toString('base64');
  it.each([
    ['node', 'query($id: ID!) { node(id: $id) { id } }', 'Evaluation'],
    ['nodes', 'query($id: ID!) { nodes(ids: [$id]) { id } }', 'Trace'],
    ['evaluation', 'query($id: ID!) { evaluation(id: $id) { name } }', 'Evaluation'],
    ['trace', 'query($id: ID!) { trace(id: $id) { name } }', 'Trace'],
    ['project', 'query($id: ID!) { project(id: $id) { name } }', 'Project'],
    [
      'alertEvents',
      'query($id: ID!) { alertEvents(ruleId: $id) { edges { node { state } } } }',
      'AlertRule',
    ],
    [
      'revokeApiKey',
      'mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }',
      'ApiKey',
    ],
    [
      'cancelEvaluation',
      'mutation($id: ID!) { cancelEvaluation(input: { id: $id }) { evaluation { id } } }',
      'Evaluation',
    ],
    [
      'createDataset',
      'mutation($id: ID!) { createDataset(input: { projectId: $id, name: "x" }) { dataset { id } } }',
      'Project',
    ],
  ])('%s answers NOT_FOUND, as a missing id, for any caller', async (_what, document, type) => {
    for (const key of [mallory.key, app.adminKey]) {
      const res = await app.gql(document, { id: junk(type) }, { key });
      expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    }
  });
});

describe("datasets' items, supplied outputs and comparisons: another project's ids answer as missing ones", () => {
  const criteria = [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'x' }];
  const missingUuid = () => randomUUID();
  const ids: Record<string, string> = {};
  const CREATE_SUPPLIED = `mutation($p: ID!, $c: [JSON!]!, $source: JSON) { createEvaluation(input: {
    projectId: $p, name: "supplied", testingCriteria: $c, dataSource: $source }) { evaluation { id items(first: 5) { edges { node { id } } } } } }`;

  /** Creates through the API with `key`; the evaluation's id and its first item's id. */
  async function supplied(projectId: string, key: string | undefined, dataSource: unknown) {
    const res = await app.gql(
      CREATE_SUPPLIED.replace('$source: JSON', '$source: EvaluationDataSourceInput!'),
      { p: globalId('Project', projectId), c: criteria, source: dataSource },
      { key },
    );
    expect(res.body.errors).toBeUndefined();
    const evaluation = res.body.data.createEvaluation.evaluation;
    return { id: evaluation.id as string, itemId: evaluation.items.edges[0].node.id as string };
  }

  let counts: Record<string, number>;
  const countsOfA = async () => {
    const prisma = app.server.deps.db.prisma;
    return {
      items: await prisma.datasetItemVersion.count({ where: { dataset: { projectId: projectA } } }),
      versions: await prisma.datasetVersion.count({ where: { dataset: { projectId: projectA } } }),
      evaluations: await prisma.evaluation.count({ where: { projectId: projectA } }),
      waiting: await prisma.evaluationItem.count({
        where: { evaluation: { projectId: projectA }, state: 'AWAITING_OUTPUT' },
      }),
    };
  };

  beforeAll(async () => {
    // Project A, as its own admin would make it: a dataset with an item, a span, a supplied run.
    const dataset = await app.gql(
      'mutation($p: ID!) { createDataset(input: { projectId: $p, name: "chain items", items: [{ input: "a" }] }) { dataset { id items(first: 1) { edges { node { id } } } } } }',
      { p: globalId('Project', projectA) },
    );
    expect(dataset.body.errors).toBeUndefined();
    ids.dataset = dataset.body.data.createDataset.dataset.id;
    ids.item = dataset.body.data.createDataset.dataset.items.edges[0].node.id;
    const ingested = await app.gql(
      'mutation($p: ID!) { ingestSpans(input: { projectId: $p, spans: [{ traceId: "chain", spanId: "chain-s", name: "x", startTime: "2026-01-01T00:00:00Z" }] }) { acceptedCount } }',
      { p: globalId('Project', projectA) },
    );
    expect(ingested.body.errors).toBeUndefined();
    const span = await app.server.deps.db.prisma.span.findFirstOrThrow({
      where: { projectId: projectA, externalId: 'chain-s' },
    });
    ids.span = globalId('Span', span.id);
    const onDataset = await supplied(projectA, undefined, {
      datasetId: ids.dataset,
      outputs: 'SUPPLIED',
    });
    ids.evaluation = onDataset.id;
    ids.evaluationItem = onDataset.itemId;
    // Mallory's own: a dataset, and runs waiting for outputs.
    const own = await app.gql(
      'mutation($p: ID!) { createDataset(input: { projectId: $p, name: "mine", items: [{ input: "b" }] }) { dataset { id } } }',
      { p: globalId('Project', projectB) },
      { key: mallory.key },
    );
    ids.ownDataset = own.body.data.createDataset.dataset.id;
    ids.ownEvaluation = (
      await supplied(projectB, mallory.key, { items: [{ input: 'b' }], outputs: 'SUPPLIED' })
    ).id;
    counts = await countsOfA();
  });

  const cases: [string, string, () => Record<string, unknown>, () => Record<string, unknown>][] = [
    [
      'updateDatasetItem',
      'mutation($id: ID!) { updateDatasetItem(input: { id: $id, input: "taken" }) { datasetItem { id } } }',
      () => ({ id: ids.item }),
      () => ({ id: missingUuid() }),
    ],
    [
      'archiveDatasetItem',
      'mutation($id: ID!) { archiveDatasetItem(input: { id: $id }) { datasetItem { id } } }',
      () => ({ id: ids.item }),
      () => ({ id: missingUuid() }),
    ],
    [
      'addDatasetItemsFromSpans (dataset)',
      'mutation($id: ID!) { addDatasetItemsFromSpans(input: { datasetId: $id, filter: {}, outputAs: EXPECTED_OUTPUT }) { addedCount } }',
      () => ({ id: ids.dataset }),
      () => ({ id: globalId('Dataset', missingUuid()) }),
    ],
    [
      'addDatasetItemsFromSpans (span)',
      'mutation($d: ID!, $id: ID!) { addDatasetItemsFromSpans(input: { datasetId: $d, spanIds: [$id], outputAs: EXPECTED_OUTPUT }) { addedCount } }',
      () => ({ d: ids.ownDataset, id: ids.span }),
      () => ({ d: ids.ownDataset, id: globalId('Span', missingUuid()) }),
    ],
    [
      'dataset items as of a version',
      'query($id: ID!) { dataset(id: $id) { items(first: 5, version: "2030-01-01T00:00:00Z") { totalCount } } }',
      () => ({ id: ids.dataset }),
      () => ({ id: globalId('Dataset', missingUuid()) }),
    ],
    [
      'submitEvaluationOutputs (evaluation)',
      'mutation($id: ID!, $item: ID!) { submitEvaluationOutputs(input: { evaluationId: $id, outputs: [{ itemId: $item, output: "x" }] }) { acceptedCount } }',
      () => ({ id: ids.evaluation, item: ids.evaluationItem }),
      () => ({ id: globalId('Evaluation', missingUuid()), item: ids.evaluationItem }),
    ],
    [
      'submitEvaluationOutputs (evaluation item)',
      'mutation($id: ID!, $item: ID!) { submitEvaluationOutputs(input: { evaluationId: $id, outputs: [{ itemId: $item, output: "x" }] }) { acceptedCount } }',
      () => ({ id: ids.ownEvaluation, item: ids.evaluationItem }),
      () => ({ id: ids.ownEvaluation, item: missingUuid() }),
    ],
    [
      'submitEvaluationOutputs (dataset item)',
      'mutation($id: ID!, $item: ID!) { submitEvaluationOutputs(input: { evaluationId: $id, outputs: [{ itemId: $item, output: "x" }] }) { acceptedCount } }',
      () => ({ id: ids.ownEvaluation, item: ids.item }),
      () => ({ id: ids.ownEvaluation, item: missingUuid() }),
    ],
    [
      'closeEvaluation',
      'mutation($id: ID!) { closeEvaluation(input: { id: $id }) { skippedCount } }',
      () => ({ id: ids.evaluation }),
      () => ({ id: globalId('Evaluation', missingUuid()) }),
    ],
    [
      'compareEvaluations (base)',
      'query($b: ID!, $c: ID!) { compareEvaluations(baseId: $b, candidateId: $c) { matchedItems } }',
      () => ({ b: ids.evaluation, c: ids.ownEvaluation }),
      () => ({ b: globalId('Evaluation', missingUuid()), c: ids.ownEvaluation }),
    ],
    [
      'compareEvaluations (candidate)',
      'query($b: ID!, $c: ID!) { compareEvaluations(baseId: $b, candidateId: $c) { matchedItems } }',
      () => ({ b: ids.ownEvaluation, c: ids.evaluation }),
      () => ({ b: ids.ownEvaluation, c: globalId('Evaluation', missingUuid()) }),
    ],
    [
      'createEvaluation on a dataset version',
      'mutation($p: ID!, $id: ID!, $c: [JSON!]!) { createEvaluation(input: { projectId: $p, name: "x", testingCriteria: $c, dataSource: { datasetId: $id, datasetVersion: "2030-01-01T00:00:00Z" } }) { evaluation { id } } }',
      () => ({ p: globalId('Project', projectB), id: ids.dataset, c: criteria }),
      () => ({
        p: globalId('Project', projectB),
        id: globalId('Dataset', missingUuid()),
        c: criteria,
      }),
    ],
  ];

  it.each(cases)('%s', answersAsMissing);

  it('changed nothing in the other project on the way', async () => {
    expect(await countsOfA()).toEqual(counts);
  });
});
