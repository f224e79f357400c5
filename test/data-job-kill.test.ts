// A deletion survives its holder killed with SIGKILL in the middle of it (issue 21). With
// Postgres, the call hands its job to a worker process after one batch, the worker is killed
// mid-job and a new one takes the job over once its lease expires. On the embedded database (one
// process owns it) the call works on its job itself until the whole server is killed under it;
// the server started again takes the job over. Either way the job finishes, its counts are exact
// (each batch commits with its counts) and the rollups equal the spans that remain.
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Sql } from '../src/storage/db';
import { createDeployment } from './support/process';
import { expectRollupsExact } from './support/rollups';
import { INGEST } from './support/spans';

jest.setTimeout(240_000);

const TRACES = 12_000;
const JOB = `query($id: ID!) { node(id: $id) { ... on DataJob { status tracesMatched tracesDeleted spansDeleted error } } }`;

it('a data job whose holder is killed with SIGKILL mid-job is finished by another, counted once', async () => {
  const shared = Boolean(process.env.DATABASE_URL);
  const deployment = await createDeployment({
    project: 'deletion kill',
    env: {
      EVALGRAPH_EVAL_LEASE_MS: '2000',
      EVALGRAPH_DATA_JOB_POLL_MS: '100',
      // Shared: the call hands its job to the workers after its first batch; embedded: it works
      // on the job until killed.
      EVALGRAPH_DELETE_INLINE_MS: shared ? '0' : '60000',
      EVALGRAPH_RATE_LIMIT: 'false',
    },
  });
  const { gql } = deployment;
  let lite: PGlite | null = null;
  try {
    await deployment.startApi();
    deployment.startWorkers(1);
    const project = await deployment.projectId();
    // Half the traces are the erased user's: one LLM span each, a tool span beside every other.
    for (let from = 0; from < TRACES; from += 600) {
      const spans = [];
      for (let i = from; i < from + 600; i++) {
        const base = {
          traceId: `t${i}`,
          startTime: new Date(Date.UTC(2026, 2, 1, i % 48)).toISOString(),
        };
        spans.push({
          ...base,
          spanId: 'llm',
          name: 'call',
          kind: 'LLM',
          model: 'gpt-4o',
          inputTokens: i % 7,
          userId: i % 2 ? 'gone' : 'kept',
        });
        if (i % 4 < 2)
          spans.push({
            ...base,
            spanId: 'tool',
            name: 'tool',
            kind: 'TOOL',
            userId: i % 2 ? 'gone' : 'kept',
          });
      }
      const res = await gql(INGEST, { input: { projectId: project, spans, partial: false } });
      expect(res.errors).toBeUndefined();
    }
    const erase = gql(
      `mutation($p: ID!) { deleteEndUserData(input: { projectId: $p, userId: "gone" }) { job { id status tracesMatched } } }`,
      { p: project },
    );
    let id: string;
    if (shared) {
      const made = await erase;
      expect(made.errors).toBeUndefined();
      expect(made.data.deleteEndUserData.job).toMatchObject({
        status: 'RUNNING',
        tracesMatched: TRACES / 2,
      });
      id = made.data.deleteEndUserData.job.id;
    } else {
      // The call answers only when done (or cut off by the kill): the job is found in the list.
      erase.catch(() => {});
      const listed = async () =>
        (
          await gql(`query($p: ID!) { dataJobs(projectId: $p) { edges { node { id } } } }`, {
            p: project,
          })
        ).data.dataJobs.edges;
      let edges = await listed();
      for (let i = 0; i < 600 && !edges.length; i++) {
        await new Promise((r) => setTimeout(r, 10));
        edges = await listed();
      }
      id = edges[0].node.id;
    }
    const job = async () => (await gql(JOB, { id })).data.node;
    // Kill the holder while it works on the job.
    let seen = await job();
    for (let i = 0; i < 600 && seen.tracesDeleted < 400; i++) {
      await new Promise((r) => setTimeout(r, 10));
      seen = await job();
    }
    expect(seen.status).toBe('RUNNING');
    expect(seen.tracesDeleted).toBeGreaterThan(0);
    expect(seen.tracesDeleted).toBeLessThan(TRACES / 2);
    await deployment.crash(() => deployment.startWorkers(1));

    for (let i = 0; i < 1_200 && seen.status !== 'SUCCEEDED'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await job();
    }
    // Each of the user's traces had one LLM span, and a tool span for half of them.
    expect(seen).toEqual({
      status: 'SUCCEEDED',
      tracesMatched: TRACES / 2,
      tracesDeleted: TRACES / 2,
      spansDeleted: TRACES / 2 + TRACES / 4,
      error: null,
    });

    let sql: Sql;
    if (deployment.shared) sql = (text) => deployment.sql(text);
    else {
      await deployment.api.stop('SIGTERM');
      lite = await PGlite.create({
        dataDir: path.join(deployment.env.EVALGRAPH_DATA_DIR, 'pgdata'),
      });
      const l = lite;
      sql = async (text, params) => (await l.query(text, params)).rows as never;
    }
    const [left] = await sql<{ gone: number; kept: number }>(
      `SELECT count(*) FILTER (WHERE user_id = 'gone')::int AS gone, count(*) FILTER (WHERE user_id = 'kept')::int AS kept FROM traces`,
    );
    expect(left).toEqual({ gone: 0, kept: TRACES / 2 });
    await expectRollupsExact(sql);
  } finally {
    await lite?.close();
    await deployment.close();
  }
});
