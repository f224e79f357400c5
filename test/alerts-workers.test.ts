// Alert rules evaluated by real worker processes: with Postgres and Redis, one API process and two
// worker processes polling every 50 ms race for the same due rules, and every rule fires exactly
// once (one AlertEvent, one alertFired event). On the embedded database one process owns it, so
// there a single serve process (API and worker together) runs the same check.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, uniqueName } from './support/databases';
import { subscribeWs, until, wsClient } from './support/live';
import {
  startServeProcess,
  startWorkerProcess,
  stopWorkers,
  type ServeProcess,
} from './support/process';

jest.setTimeout(120_000);

const multi = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);
const RULES = 30;

it(
  multi
    ? 'two worker processes racing for due rules fire each exactly once'
    : 'the serve process fires each due rule exactly once',
  async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-alerts-'));
    const db = multi ? await createTestDatabase() : null;
    const key = `evg_test_${randomBytes(24).toString('base64url')}`;
    const env = {
      ...(db
        ? {
            DATABASE_URL: db.url!,
            REDIS_URL: process.env.REDIS_URL!,
            REDIS_KEY_PREFIX: `${uniqueName('evalgraph_alerts')}:`,
          }
        : { DATABASE_URL: '', REDIS_URL: '' }),
      EVALGRAPH_DATA_DIR: dir,
      EVALGRAPH_INIT_ADMIN_EMAIL: 'admin@test.local',
      EVALGRAPH_INIT_PROJECT: 'alerts',
      EVALGRAPH_INIT_API_KEY: key,
      EVALGRAPH_ALERTS_POLL_MS: '50',
    };
    let api: ServeProcess | null = null;
    const workers: ReturnType<typeof startWorkerProcess>[] = [];
    try {
      api = await startServeProcess(env, multi ? ['--role', 'api'] : []);
      const gql = async (query: string, variables: Record<string, unknown> = {}) =>
        (await (
          await fetch(`${api!.url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
            body: JSON.stringify({ query, variables }),
          })
        ).json()) as any;
      const project = (await gql('{ projects { edges { node { id } } } }')).data.projects.edges[0]
        .node.id;
      const client = wsClient(api.url, key);
      const fired = subscribeWs(
        client,
        'subscription($p: ID!) { alertFired(projectId: $p) { ruleId state } }',
        { p: project },
      );
      await new Promise((r) => setTimeout(r, 300));
      // Disabled while they are made, so that all become due together when enabled.
      const ids: string[] = [];
      for (let i = 0; i < RULES; i++) {
        const res = await gql(
          `mutation($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { alertRule { id } } }`,
          {
            input: {
              projectId: project,
              name: `always ${i}`,
              metric: 'SPAN_COUNT',
              aggregation: 'COUNT',
              operator: 'GTE',
              threshold: 0,
              windowSeconds: 60,
              intervalSeconds: 3600,
              minSamples: 0,
              enabled: false,
            },
          },
        );
        ids.push(res.data.createAlertRule.alertRule.id);
      }
      if (multi) workers.push(startWorkerProcess(env), startWorkerProcess(env));
      await new Promise((r) => setTimeout(r, multi ? 1_500 : 0)); // workers up and polling
      await Promise.all(
        ids.map((id) =>
          gql(
            `mutation($input: UpdateAlertRuleInput!) { updateAlertRule(input: $input) { alertRule { id } } }`,
            { input: { id, enabled: true } },
          ),
        ),
      );
      await until(() => fired.events.length >= RULES, 30_000, `${RULES} alerts`);
      await new Promise((r) => setTimeout(r, 500)); // a double firing would arrive by now
      expect(fired.events).toHaveLength(RULES);
      expect(new Set(fired.events.map((e) => e.data.alertFired.ruleId))).toEqual(new Set(ids));
      for (const id of ids.slice(0, 5)) {
        const rule = await gql(
          `query($id: ID!) { alertRule(id: $id) { state events { edges { node { fromState state } } } } }`,
          { id },
        );
        expect(rule.data.alertRule).toEqual({
          state: 'FIRING',
          events: { edges: [{ node: { fromState: 'OK', state: 'FIRING' } }] },
        });
      }
      const all = await gql(
        `query($p: ID!) { alertEvents(projectId: $p, first: 100) { edges { node { ruleId } } } }`,
        { p: project },
      );
      expect(all.data.alertEvents.edges).toHaveLength(RULES);
      fired.stop();
      await client.dispose();
    } finally {
      await stopWorkers(workers);
      await api?.stop('SIGTERM');
      await db?.drop();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
