// The audit log (issue 21): each administrative or destructive mutation writes exactly one entry
// (who, which key, from where, what, on what, in which project); auditLog shows instance admins
// everything and a project ADMIN only their projects' entries; nothing edits entries; a worker
// deletes them after EVALGRAPH_AUDIT_RETENTION_DAYS.
import { removeExpiredEntries } from '../src/modules/audit/job';
import { getSchema } from '../src/schema';
import { createTestApp, globalId, type TestApp } from './support/app';

let app: TestApp;
let mine: string;
let other: string;
let projectAdmin: { userId: string; key: string; email: string };
let projectAdminKeyId: string;
let adminId: string;
let adminKeyId: string;
const ADDRESS = '203.0.113.7';

beforeAll(async () => {
  app = await createTestApp({
    // The X-Forwarded-For the test sends is trusted from the loopback peer.
    EVALGRAPH_TRUSTED_PROXIES: '127.0.0.1/32',
    EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  });
  mine = app.projectId;
  other = await app.seedProject('other');
  projectAdmin = await app.seedUser({ role: 'ADMIN', projectId: mine });
  const prisma = app.server.deps.db.prisma;
  projectAdminKeyId = (
    await prisma.apiKey.findFirstOrThrow({ where: { userId: projectAdmin.userId } })
  ).id;
  const admin = await prisma.user.findUniqueOrThrow({ where: { email: 'admin@test.local' } });
  adminId = admin.id;
  adminKeyId = (await prisma.apiKey.findFirstOrThrow({ where: { userId: admin.id } })).id;
});
afterAll(() => app.close());

const gql = (query: string, variables: Record<string, unknown> = {}, key = app.adminKey) =>
  app.gql(query, variables, { key, headers: { 'x-forwarded-for': ADDRESS } });

async function ok(query: string, variables: Record<string, unknown> = {}, key = app.adminKey) {
  const res = await gql(query, variables, key);
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data;
}

const entries = () => app.server.deps.db.prisma.auditEntry.findMany({ orderBy: { id: 'asc' } });

/** Runs the mutation and returns the entries it wrote. */
async function audited(run: () => Promise<unknown>) {
  const before = new Set((await entries()).map((e) => e.id));
  await run();
  return (await entries()).filter((e) => !before.has(e.id));
}

const P = (id: string) => globalId('Project', id);

describe('each audited mutation writes one entry', () => {
  const who = (key: 'admin' | 'projectAdmin') =>
    key === 'admin'
      ? { actorId: adminId, apiKeyId: adminKeyId, address: ADDRESS }
      : { actorId: projectAdmin.userId, apiKeyId: projectAdminKeyId, address: ADDRESS };

  it('users, tiers, limits: instance-level, without a project', async () => {
    let userId = '';
    const created = await audited(async () => {
      const data = await ok(
        'mutation { createUser(input: { email: "audited@test.local" }) { user { id } } }',
      );
      userId = Buffer.from(data.createUser.user.id, 'base64').toString().split(':')[1];
    });
    expect(created).toMatchObject([
      {
        ...who('admin'),
        action: 'user.create',
        projectId: null,
        targetType: 'User',
        targetId: userId,
      },
    ]);
    const tier = await audited(() =>
      ok(
        'mutation($u: ID!) { setUserTier(input: { userId: $u, tier: PREMIUM }) { user { id } } }',
        {
          u: globalId('User', userId),
        },
      ),
    );
    expect(tier).toMatchObject([
      { action: 'user.tier', projectId: null, targetId: userId, details: { tier: 'PREMIUM' } },
    ]);
    const limits = await audited(() =>
      ok(
        'mutation($u: ID!) { setUserLimits(input: { userId: $u, requestsPerDay: 10 }) { user { id } } }',
        { u: globalId('User', userId) },
      ),
    );
    expect(limits).toMatchObject([{ action: 'limits.set', projectId: null, targetId: userId }]);
  });

  it('keys: create, update, rotate, revoke (in the key’s project), never the secret', async () => {
    let keyId = '';
    let secret = '';
    const created = await audited(async () => {
      const data = await ok(
        'mutation($p: ID!) { createApiKey(input: { projectId: $p, name: "ci" }) { key apiKey { id } } }',
        { p: P(mine) },
        projectAdmin.key,
      );
      keyId = Buffer.from(data.createApiKey.apiKey.id, 'base64').toString().split(':')[1];
      secret = data.createApiKey.key;
    });
    expect(created).toMatchObject([
      {
        ...who('projectAdmin'),
        action: 'apiKey.create',
        projectId: mine,
        targetType: 'ApiKey',
        targetId: keyId,
      },
    ]);
    const id = globalId('ApiKey', keyId);
    const steps: [string, string][] = [
      [
        'apiKey.update',
        'mutation($id: ID!) { updateApiKey(input: { id: $id, name: "ci2" }) { apiKey { id } } }',
      ],
      ['apiKey.rotate', 'mutation($id: ID!) { rotateApiKey(input: { id: $id }) { key } }'],
      [
        'apiKey.revoke',
        'mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }',
      ],
    ];
    for (const [action, document] of steps) {
      const written = await audited(() => ok(document, { id }, projectAdmin.key));
      expect(written).toMatchObject([
        { ...who('projectAdmin'), action, projectId: mine, targetId: keyId },
      ]);
    }
    const all = JSON.stringify(await entries());
    expect(all).not.toContain(secret);
  });

  it('members, budgets, persisted operations, projects', async () => {
    const member = await audited(() =>
      ok(
        'mutation($p: ID!) { addProjectMember(input: { projectId: $p, email: "m@test.local", role: VIEWER }) { membership { role } } }',
        { p: P(mine) },
        projectAdmin.key,
      ),
    );
    expect(member).toMatchObject([
      {
        ...who('projectAdmin'),
        action: 'member.add',
        projectId: mine,
        targetType: 'User',
        details: { role: 'VIEWER' },
      },
    ]);
    const role = await audited(() =>
      ok(
        'mutation($p: ID!) { addProjectMember(input: { projectId: $p, email: "M@test.local", role: DEVELOPER }) { membership { role } } }',
        { p: P(mine) },
        projectAdmin.key,
      ),
    );
    expect(role).toMatchObject([
      {
        action: 'member.role',
        projectId: mine,
        targetId: member[0].targetId,
        details: { role: 'DEVELOPER', previousRole: 'VIEWER' },
      },
    ]);
    // The member's key bound to the project is revoked with the membership.
    const memberKey = await app.server.services.auth.createApiKey(null, {
      userId: member[0].targetId,
      projectId: mine,
      name: 'theirs',
    });
    const removed = await audited(() =>
      ok(
        'mutation($p: ID!, $u: ID!) { removeProjectMember(input: { projectId: $p, userId: $u }) { removedUserId keysRevoked } }',
        { p: P(mine), u: globalId('User', member[0].targetId) },
        projectAdmin.key,
      ),
    );
    expect(removed).toMatchObject([
      {
        ...who('projectAdmin'),
        action: 'member.remove',
        projectId: mine,
        targetType: 'User',
        targetId: member[0].targetId,
        details: { role: 'DEVELOPER', keysRevoked: 1 },
      },
    ]);
    const refused = await gql('{ viewer { id } }', {}, memberKey.key);
    expect(refused.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    // Not a member (any more): NOT_FOUND, and nothing written.
    const again = await audited(async () => {
      const res = await gql(
        'mutation($p: ID!, $u: ID!) { removeProjectMember(input: { projectId: $p, userId: $u }) { removedUserId } }',
        { p: P(mine), u: globalId('User', member[0].targetId) },
        projectAdmin.key,
      );
      expect(res.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    });
    expect(again).toEqual([]);
    // A project's last ADMIN stays.
    const alone = await app.seedProject('one admin');
    const soleAdmin = await app.seedUser({ role: 'ADMIN', projectId: alone });
    const last = await gql(
      'mutation($p: ID!, $u: ID!) { removeProjectMember(input: { projectId: $p, userId: $u }) { removedUserId } }',
      { p: P(alone), u: globalId('User', soleAdmin.userId) },
      soleAdmin.key,
    );
    expect(last.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const budget = await audited(() =>
      ok(
        'mutation($p: ID!) { setProjectBudget(input: { projectId: $p, evaluationsPerDay: 5 }) { project { id } } }',
        { p: P(mine) },
        projectAdmin.key,
      ),
    );
    expect(budget).toMatchObject([{ action: 'budget.set', projectId: mine, targetId: mine }]);
    const retention = await audited(() =>
      ok(
        'mutation($p: ID!) { setProjectRetention(input: { projectId: $p, traceDays: 3650 }) { project { id } } }',
        { p: P(mine) },
        projectAdmin.key,
      ),
    );
    expect(retention).toMatchObject([
      {
        action: 'project.retention',
        projectId: mine,
        targetType: 'Project',
        targetId: mine,
        details: { before: { traceDays: null }, after: { traceDays: 3650 } },
      },
    ]);
    const registered = await audited(() =>
      ok(
        'mutation($p: ID!) { registerPersistedOperations(input: { projectId: $p, operations: ["query Audited { projects { totalCount } }"] }) { operations { hash } } }',
        { p: P(mine) },
        projectAdmin.key,
      ),
    );
    expect(registered).toMatchObject([
      { action: 'persistedOperation.register', projectId: mine, targetType: 'PersistedOperation' },
    ]);
    const project = await audited(() =>
      ok('mutation { createProject(input: { name: "new" }) { project { id } } }'),
    );
    expect(project).toMatchObject([
      { ...who('admin'), action: 'project.create', targetType: 'Project' },
    ]);
  });

  it('webhook endpoints: create, update, rotate the secret, delete', async () => {
    let endpoint = '';
    let secret = '';
    const created = await audited(async () => {
      const data = await ok(
        'mutation($p: ID!) { createWebhookEndpoint(input: { projectId: $p, url: "http://127.0.0.1:9/hook" }) { secret webhookEndpoint { id } } }',
        { p: P(mine) },
        projectAdmin.key,
      );
      endpoint = data.createWebhookEndpoint.webhookEndpoint.id;
      secret = data.createWebhookEndpoint.secret;
    });
    const rawId = Buffer.from(endpoint, 'base64').toString().split(':')[1];
    expect(created).toMatchObject([
      {
        action: 'webhookEndpoint.create',
        projectId: mine,
        targetType: 'WebhookEndpoint',
        targetId: rawId,
      },
    ]);
    for (const [action, document] of [
      [
        'webhookEndpoint.update',
        'mutation($id: ID!) { updateWebhookEndpoint(input: { id: $id, description: "d" }) { webhookEndpoint { id } } }',
      ],
      [
        'webhookEndpoint.rotateSecret',
        'mutation($id: ID!) { rotateWebhookSecret(input: { id: $id }) { secret } }',
      ],
      [
        'webhookEndpoint.delete',
        'mutation($id: ID!) { deleteWebhookEndpoint(input: { id: $id }) { deletedId } }',
      ],
    ]) {
      const written = await audited(() => ok(document, { id: endpoint }, projectAdmin.key));
      expect(written).toMatchObject([{ action, projectId: mine, targetId: rawId }]);
    }
    expect(JSON.stringify(await entries())).not.toContain(secret);
  });

  it('deletions: alert rules and channels, evaluation rules, scores, model prices', async () => {
    const criteria = [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'a' }];
    const made = async (document: string, vars: Record<string, unknown> = {}) => {
      const data = await ok(document, { p: P(mine), ...vars }, projectAdmin.key);
      const payload = Object.values(data)[0] as Record<string, { id: string }>;
      return Object.values(payload)[0].id;
    };
    await ok(
      'mutation($p: ID!) { ingestSpans(input: { projectId: $p, spans: [{ traceId: "audit-t", spanId: "s1", name: "root", startTime: "2026-01-02T00:00:00Z" }] }) { acceptedCount } }',
      { p: P(mine) },
      projectAdmin.key,
    );
    const trace = await app.server.deps.db.prisma.trace.findFirstOrThrow({
      where: { projectId: mine },
    });
    const cases: [string, string, string, string][] = [
      [
        'alertRule.delete',
        'AlertRule',
        await made(
          'mutation($p: ID!) { createAlertRule(input: { projectId: $p, name: "r", metric: COST, aggregation: SUM, operator: GT, threshold: 1, windowSeconds: 60 }) { alertRule { id } } }',
        ),
        'mutation($id: ID!) { deleteAlertRule(input: { id: $id }) { deletedAlertRuleId } }',
      ],
      [
        'alertChannel.delete',
        'AlertChannel',
        await made(
          'mutation($p: ID!) { createAlertChannel(input: { projectId: $p, type: PAGERDUTY, name: "pd", routingKey: "rk-1" }) { alertChannel { id } } }',
        ),
        'mutation($id: ID!) { deleteAlertChannel(input: { id: $id }) { deletedAlertChannelId } }',
      ],
      [
        'evaluationRule.delete',
        'EvaluationRule',
        await made(
          'mutation($p: ID!, $c: [JSON!]!) { createEvaluationRule(input: { projectId: $p, name: "o", testingCriteria: $c, delaySeconds: 3600 }) { evaluationRule { id } } }',
          { c: criteria },
        ),
        'mutation($id: ID!) { deleteEvaluationRule(input: { id: $id }) { deletedEvaluationRuleId } }',
      ],
      [
        'score.delete',
        'Score',
        await made(
          'mutation($p: ID!, $t: ID!) { createScore(input: { projectId: $p, traceId: $t, name: "q", value: 1 }) { score { id } } }',
          { t: globalId('Trace', trace.id) },
        ),
        'mutation($id: ID!) { deleteScore(input: { id: $id }) { deletedScoreId } }',
      ],
      [
        'modelPrice.delete',
        'ModelPrice',
        await made(
          'mutation($p: ID!) { upsertModelPrice(input: { projectId: $p, modelName: "audited", inputPrice: "1", outputPrice: "1" }) { modelPrice { id } } }',
        ),
        'mutation($p: ID!, $id: ID!) { deleteModelPrice(input: { projectId: $p, id: $id }) { deletedId } }',
      ],
    ];
    for (const [action, targetType, id, document] of cases) {
      const written = await audited(() => ok(document, { id, p: P(mine) }, projectAdmin.key));
      const targetId = Buffer.from(id, 'base64').toString().split(':')[1];
      expect(written).toMatchObject([
        {
          actorId: projectAdmin.userId,
          apiKeyId: projectAdminKeyId,
          address: ADDRESS,
          action,
          projectId: mine,
          targetType,
          targetId,
        },
      ]);
    }
  });

  it('entity deletions: a dataset, an evaluation, a project, a user', async () => {
    const prisma = app.server.deps.db.prisma;
    const dataset = await prisma.dataset.create({ data: { projectId: mine, name: 'audited' } });
    const evaluation = await prisma.evaluation.create({
      data: {
        projectId: mine,
        name: 'audited',
        testingCriteria: [],
        dataSource: {},
        status: 'COMPLETED',
      },
    });
    const doomed = await app.seedProject('audited doomed');
    const leaver = await app.seedUser({ role: 'VIEWER', projectId: mine });
    const cases: [string, string, string, string, string | null, string][] = [
      [
        'dataset.delete',
        'mutation($id: ID!) { deleteDataset(input: { id: $id }) { deletedDatasetId } }',
        'Dataset',
        dataset.id,
        mine,
        projectAdmin.key,
      ],
      [
        'evaluation.delete',
        'mutation($id: ID!) { deleteEvaluation(input: { id: $id }) { deletedEvaluationId } }',
        'Evaluation',
        evaluation.id,
        mine,
        projectAdmin.key,
      ],
      [
        'project.delete',
        'mutation($id: ID!) { deleteProject(input: { id: $id }) { job { id } } }',
        'Project',
        doomed,
        doomed,
        app.adminKey,
      ],
      [
        'user.delete',
        'mutation($id: ID!) { deleteUser(input: { id: $id }) { user { id } } }',
        'User',
        leaver.userId,
        null,
        app.adminKey,
      ],
    ];
    for (const [action, document, targetType, targetId, projectId, key] of cases) {
      const written = await audited(() =>
        ok(document, { id: globalId(targetType, targetId) }, key),
      );
      expect(written).toMatchObject([{ action, projectId, targetType, targetId }]);
    }
  });

  it('a refused mutation writes nothing', async () => {
    const viewer = await app.seedUser({ role: 'VIEWER', projectId: mine });
    const written = await audited(async () => {
      const res = await gql(
        'mutation($p: ID!) { setProjectBudget(input: { projectId: $p, evaluationsPerDay: 1 }) { project { id } } }',
        { p: P(mine) },
        viewer.key,
      );
      expect(res.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    });
    expect(written).toEqual([]);
  });
});

describe('auditLog', () => {
  const LOG =
    'query($p: ID, $f: AuditLogFilter, $first: Int, $after: String) { auditLog(projectId: $p, filter: $f, first: $first, after: $after) { edges { node { action projectId actorId apiKeyId address targetId } } pageInfo { hasNextPage endCursor } } }';

  beforeAll(async () => {
    // An entry in a project the project admin does not administer.
    await ok(
      'mutation($p: ID!) { setProjectBudget(input: { projectId: $p, evaluationsPerDay: 2 }) { project { id } } }',
      {
        p: P(other),
      },
    );
  });

  it('an instance admin sees every entry, newest first, by keyset pages', async () => {
    const total = (await entries()).length;
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: any = (await ok(LOG, { first: 3, after })).auditLog;
      seen.push(...page.edges.map((e: any) => e.node.action));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toHaveLength(total);
    expect(seen[0]).toBe('budget.set');
    expect(seen.at(-1)).toBe('user.create');
  });

  it('a project admin sees only their projects’ entries, never instance-level ones', async () => {
    const edges = (await ok(LOG, { first: 100 }, projectAdmin.key)).auditLog.edges;
    expect(edges.length).toBeGreaterThan(5);
    expect(new Set(edges.map((e: any) => e.node.projectId))).toEqual(new Set([P(mine)]));
    const theirs = await gql(LOG, { p: P(other) }, projectAdmin.key);
    expect([theirs.body.data?.auditLog ?? null, theirs.body.errors?.[0].extensions?.code]).toEqual([
      null,
      'NOT_FOUND',
    ]);
    const admin = (await ok(LOG, { p: P(other) })).auditLog.edges;
    expect(admin.map((e: any) => e.node.action)).toEqual(['budget.set']);
  });

  it('a key bound to a project reads that project’s entries only, an instance admin’s too', async () => {
    const created = await ok(
      'mutation($p: ID!) { createApiKey(input: { projectId: $p, name: "bound" }) { key } }',
      { p: P(other) },
    );
    const edges = (await ok(LOG, { first: 100 }, created.createApiKey.key)).auditLog.edges;
    expect(edges.length).toBeGreaterThan(0);
    expect(new Set(edges.map((e: any) => e.node.projectId))).toEqual(new Set([P(other)]));
  });

  it('filters by action, actor and time', async () => {
    const keys = (
      await ok(LOG, { first: 100, f: { actions: ['apiKey.rotate', 'apiKey.revoke'] } })
    ).auditLog.edges.map((e: any) => e.node.action);
    expect(keys).toEqual(['apiKey.revoke', 'apiKey.rotate']);
    const byAdmin = (await ok(LOG, { first: 100, f: { actorId: globalId('User', adminId) } }))
      .auditLog.edges;
    expect(byAdmin.length).toBeGreaterThan(0);
    for (const { node } of byAdmin) expect(node.actorId).toBe(globalId('User', adminId));
    const future = (await ok(LOG, { f: { from: '2999-01-01T00:00:00Z' } })).auditLog.edges;
    expect(future).toEqual([]);
  });

  it('DEVELOPER and VIEWER are refused', async () => {
    for (const role of ['DEVELOPER', 'VIEWER'] as const) {
      const user = await app.seedUser({ role, projectId: mine });
      const own = await gql(LOG, { p: P(mine) }, user.key);
      expect([role, own.body.errors?.[0].extensions?.code]).toEqual([role, 'FORBIDDEN']);
      const all = await gql(LOG, {}, user.key);
      expect([role, all.body.errors?.[0].extensions?.code]).toEqual([role, 'FORBIDDEN']);
    }
  });

  it('cannot be changed through the API: no mutation touches it', () => {
    const mutations = Object.keys(getSchema().getMutationType()!.getFields());
    expect(mutations.filter((m) => /audit/i.test(m))).toEqual([]);
  });
});

describe('retention', () => {
  it('deletes entries older than EVALGRAPH_AUDIT_RETENTION_DAYS (365) by the business clock', async () => {
    const { deps } = app.server;
    const count = async () => (await entries()).length;
    const kept = await count();
    expect(kept).toBeGreaterThan(0);
    expect(await removeExpiredEntries(deps)).toBe(0);
    const now = deps.clock.now;
    try {
      deps.clock.now = () => new Date(Date.now() + 364 * 86_400_000);
      expect(await removeExpiredEntries(deps)).toBe(0);
      deps.clock.now = () => new Date(Date.now() + 366 * 86_400_000);
      expect(await removeExpiredEntries(deps)).toBe(kept);
      expect(await count()).toBe(0);
    } finally {
      deps.clock.now = now;
    }
  });
});
