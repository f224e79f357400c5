// Alert rules evaluated by real worker processes: with Postgres and Redis, one API process and two
// worker processes polling every 50 ms race for the same due rules, and every rule fires exactly
// once (one AlertEvent, one alertFired event). On the embedded database one process owns it, so
// there a single serve process (API and worker together) runs the same check.
import { subscribeWs, until, wsClient } from './support/live';
import { createDeployment } from './support/process';

jest.setTimeout(120_000);

const multi = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);
const RULES = 30;

it(
  multi
    ? 'two worker processes racing for due rules fire each exactly once'
    : 'the serve process fires each due rule exactly once',
  async () => {
    const deployment = await createDeployment({
      project: 'alerts',
      shared: multi,
      env: { EVALGRAPH_ALERTS_POLL_MS: '50' },
    });
    const { gql } = deployment;
    try {
      const api = await deployment.startApi();
      const project = await deployment.projectId();
      const client = wsClient(api.url, deployment.key);
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
      deployment.startWorkers(2);
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
      await deployment.close();
    }
  },
);
