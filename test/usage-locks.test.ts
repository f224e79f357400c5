// Every statement that adds to the usage counters locks their rows in one order, so creating
// evaluations (which counts them) and workers recording judge spending for the same user and
// project never deadlock each other (Postgres would abort one: a createEvaluation answered
// INTERNAL_SERVER_ERROR in CI). In embedded mode there is one connection, and this checks the sums.
import { randomUUID } from 'node:crypto';
import { addSpending } from '../src/modules/online-evaluations/task-sql';
import { addUsage, readMinute, readUsage } from '../src/modules/ratelimit/usage-sql';
import { utcDay, utcMinute } from '../src/lib/days';
import { createTestApp, type TestApp } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app?.close());

it('counts evaluations and judge spending of parallel writers without a deadlock', async () => {
  const { userId } = await app.seedUser({ projectId: app.projectId });
  const { db, clock } = app.server.deps;
  const subjects = { userId, projectId: app.projectId };
  const rounds = 40;
  const lanes = 8;
  // One instant for every write, so they share the per-minute rows too.
  const at = clock.now();
  const failures: unknown[] = [];
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = 0; i < rounds; i++) {
        await db
          .transaction(async (sql) => {
            if ((lane + i) % 2 === 0) {
              await addUsage(sql, at, subjects, { evaluations: 1 });
            } else {
              await addSpending(sql, at, [
                {
                  taskId: randomUUID(),
                  state: 'DONE',
                  lastError: null,
                  judgeInputTokens: 3,
                  judgeOutputTokens: 2,
                  judgeCost: '0.25',
                  judgeCalls: 1,
                  judgeUnpricedCalls: 0,
                  ...subjects,
                },
              ]);
            }
          })
          .catch((error) => failures.push(error));
      }
    }),
  );
  expect(failures).toEqual([]);
  const writes = (lanes * rounds) / 2;
  for (const [type, id] of [
    ['USER', userId],
    ['PROJECT', app.projectId],
  ] as const) {
    const daily = await readUsage(db.query, type, id, utcDay(at));
    expect(daily).toMatchObject({
      evaluations: writes,
      judge_tokens: String(writes * 5),
      judge_cost: String(writes * 0.25),
    });
    const minute = await readMinute(db.query, type, id, utcMinute(at));
    expect(minute).toMatchObject({ evaluations: writes, judge_tokens: String(writes * 5) });
  }
});
