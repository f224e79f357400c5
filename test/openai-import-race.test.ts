// Imports of two runs of one new eval at once (Postgres only: a second connection holds each run's
// advisory lock to order the steps): the import that made the eval's dataset fails (its creator's
// daily evaluations quota), and the other, which found the dataset and added its items, must
// still be stored on it.
import pg from 'pg';
import { createTestApp, globalId, type TestApp } from './support/app';
import { createEvaluation } from './support/evaluations';

const postgres = !!process.env.DATABASE_URL;
let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app?.close());

const IMPORT = `mutation($input: ImportOpenAIEvalInput!) { importOpenAIEval(input: $input) {
  dataset { id } evaluation { id } } }`;
const ev = {
  object: 'eval',
  id: 'eval_race',
  data_source_config: {
    type: 'custom',
    item_schema: { type: 'object', properties: { label: { type: 'string' } } },
    include_sample_schema: true,
  },
  testing_criteria: [
    {
      name: 'check',
      type: 'string_check',
      input: '{{sample.output_text}}',
      reference: '{{item.label}}',
      operation: 'eq',
    },
  ],
  name: 'Race',
  created_at: 1739314509,
  metadata: {},
};
const run = (id: string, label: string) => ({
  object: 'eval.run',
  id,
  eval_id: ev.id,
  status: 'completed',
  model: 'm',
  name: id,
  created_at: 1742784467,
  data_source: {
    type: 'jsonl',
    source: {
      type: 'file_content',
      content: [{ item: { label }, sample: { output_text: label } }],
    },
  },
  error: null,
  metadata: {},
});

(postgres ? it : it.skip)(
  "a failed import that made the eval's dataset does not delete it from under another import of the eval",
  async () => {
    const userB = await app.seedUser({ role: 'DEVELOPER' });
    const limited = await app.gql(
      'mutation($input: SetUserLimitsInput!) { setUserLimits(input: $input) { user { id } } }',
      { input: { userId: globalId('User', userB.userId), evaluationsPerDay: 1 } },
    );
    expect(limited.body.errors).toBeUndefined();
    const holder = new pg.Client({
      connectionString: (app.server.deps.config.database as { url: string }).url,
    });
    await holder.connect();
    try {
      const lock = (runId: string) =>
        holder.query(
          `SELECT pg_advisory_lock(hashtextextended('openai-import:' || $1 || ':' || $2, 0))`,
          [app.projectId, runId],
        );
      const unlock = (runId: string) =>
        holder.query(
          `SELECT pg_advisory_unlock(hashtextextended('openai-import:' || $1 || ':' || $2, 0))`,
          [app.projectId, runId],
        );
      const waiting = async (n: number) => {
        for (let i = 0; i < 200; i++) {
          const { rows } = await holder.query(
            `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
          );
          if (rows[0].n >= n) return;
          await new Promise((r) => setTimeout(r, 25));
        }
        throw new Error(`not ${n} imports waiting`);
      };
      const importRun = (r: unknown, key?: string) =>
        app.gql(
          IMPORT,
          { input: { projectId: globalId('Project', app.projectId), eval: ev, run: r } },
          { key },
        );
      await lock('evalrun_b');
      await lock('evalrun_a');
      // B makes the eval's dataset, adds its item, and waits where its evaluation is stored.
      const b = importRun(run('evalrun_b', 'b'), userB.key);
      await waiting(1);
      // A finds that dataset, adds its item, and waits likewise.
      const a = importRun(run('evalrun_a', 'a'));
      await waiting(2);
      // B's creator spends the last evaluation of the day meanwhile: B is refused where it is stored.
      await createEvaluation(
        app,
        [{ type: 'regex', name: 'r', input: '{{item.output}}', pattern: 'x' }],
        [{ input: 1, output: 'x' }],
        { key: userB.key },
      );
      await unlock('evalrun_b');
      const refused = await b;
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('QUOTA_EXCEEDED');
      await unlock('evalrun_a');
      const stored = await a;
      // A had nothing wrong with it: stored, on the eval's dataset, which is still there.
      expect(stored.body.errors).toBeUndefined();
      const datasetId = stored.body.data.importOpenAIEval.dataset.id;
      const seen = await app.gql('query($id: ID!) { node(id: $id) { id } }', { id: datasetId });
      expect(seen.body.data.node).not.toBeNull();
    } finally {
      await holder.end();
    }
  },
);
