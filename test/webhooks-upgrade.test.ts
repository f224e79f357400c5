// Upgrading from the release whose database triggers wrote the webhook outbox: for every state an
// evaluation goes through, the event catalogue's builders (through the emitter, on the same
// database) store the very bytes the triggers stored; the migration drops the triggers; and the
// messages the triggers left pending are delivered after the upgrade, signed, as stored.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { announceEvaluations, type EvaluationChange } from '../src/modules/evaluations/announce';
import { createEvents } from '../src/modules/events/emitter';
import { generateSecret } from '../src/modules/webhooks/signature';
import type { Db } from '../src/storage/db';
import { createMemoryPubSub } from '../src/storage/pubsub';
import { WEBHOOK_EVENTS } from '../src/modules/events/catalogue';
import { createMigrationTarget, migrateTo, runCli } from './support/databases';
import { until } from './support/live';
import { startServeProcess } from './support/process';
import { startReceiver } from './support/receiver';

jest.setTimeout(240_000);

/** The last migration of the release with the triggers. */
const BEFORE = '20261205180823_unpriced_costs_and_normalized_model';

type Sql = <R = any>(text: string, params?: unknown[]) => Promise<R[]>;
interface Message {
  id: string;
  event_type: string;
  payload: string;
}

const messages = (sql: Sql) =>
  sql<Message>(`SELECT id, event_type, payload FROM webhook_messages ORDER BY created_at, id`);
const withoutTimestamp = (payload: string) =>
  payload.replace(/"timestamp": "[^"]*"/, '"timestamp": ""');

/**
 * Fields payloads gained after the triggers' release, which the triggers could not write: left out
 * of the comparison (`resultCounts.skipped`, with outputs supplied by the caller).
 */
const withoutLater = (payload: string) => payload.replace(/,\s*"skipped":\s*0/g, '');

/** What the emitter stores for `changes` now, in a transaction rolled back after (progress marks and a batch's completion undone first, as before the trigger ran; the columns later releases added, as their migrations add them). */
async function emitted(
  sql: Sql,
  changes: EvaluationChange[],
  batchId: string | null = null,
): Promise<Message[]> {
  const known = new Set((await messages(sql)).map((m) => m.id));
  await sql('BEGIN');
  try {
    await sql('ALTER TABLE evaluations ADD COLUMN skipped_count INTEGER NOT NULL DEFAULT 0');
    // Judge calls counted, and those that could not be priced (payloads' judgeCost may be null).
    await sql(
      `ALTER TABLE evaluations ADD COLUMN judge_calls INTEGER NOT NULL DEFAULT 0,
         ADD COLUMN judge_unpriced_calls INTEGER NOT NULL DEFAULT 0`,
    );
    // Alert channels (a later release) receive from the same outbox statement.
    await sql('CREATE TABLE alert_channels (id uuid PRIMARY KEY, project_id uuid NOT NULL)');
    await sql('ALTER TABLE webhook_deliveries ADD COLUMN channel_id uuid');
    await sql('ALTER TABLE webhook_deliveries ALTER COLUMN endpoint_id DROP NOT NULL');
    await sql('DELETE FROM webhook_progress_marks');
    if (batchId)
      await sql('UPDATE evaluation_batches SET completed_at = NULL WHERE id = $1::uuid', [batchId]);
    const db = { transaction: (fn: (s: Sql) => Promise<unknown>) => fn(sql) } as unknown as Db;
    const log = pino({ level: 'silent' });
    await createEvents({ db, pubsub: createMemoryPubSub(log), log }).transaction((s, emit) =>
      announceEvaluations(s, emit, changes),
    );
    return (await messages(sql)).filter((m) => !known.has(m.id));
  } finally {
    await sql('ROLLBACK');
  }
}

it('stores the bytes the triggers stored, drops them, and delivers what they left pending', async () => {
  const receiver = await startReceiver();
  const t = await createMigrationTarget();
  let server: Awaited<ReturnType<typeof startServeProcess>> | null = null;
  try {
    expect(migrateTo(BEFORE, t.env).status).toBe(0);
    const db = await t.connect();
    const sql = db.sql;
    // The emitter of this code writes a column a later migration adds (the event's subject): given
    // here for the comparison, dropped again before the upgrade, which adds it and backfills it.
    await sql(`ALTER TABLE webhook_messages ADD COLUMN subject_id uuid`);
    const [project, endpoint, batch, x, y] = [
      randomUUID(),
      randomUUID(),
      randomUUID(),
      randomUUID(),
      randomUUID(),
    ];
    const secret = generateSecret();
    await sql(`INSERT INTO projects (id, name, updated_at) VALUES ($1::uuid, 'upgrade', now())`, [
      project,
    ]);
    await sql(
      `INSERT INTO webhook_endpoints (id, project_id, url, events, secrets, progress_interval_seconds, updated_at) VALUES ($1::uuid, $2::uuid, $3, $4, $5::jsonb, 1, now())`,
      [
        endpoint,
        project,
        receiver.url,
        WEBHOOK_EVENTS,
        JSON.stringify([{ secret, createdAt: new Date().toISOString(), expiresAt: null }]),
      ],
    );
    await sql(
      `INSERT INTO evaluation_batches (id, project_id, name) VALUES ($1::uuid, $2::uuid, 'nightly "batch"')`,
      [batch, project],
    );
    const criteria = JSON.stringify([
      {
        type: 'string_check',
        name: 'exact',
        input: '{{sample.output_text}}',
        reference: '{{item.expected_output}}',
        operation: 'eq',
      },
      {
        type: 'score_model',
        name: 'judge ü',
        model: 'gpt-4o-mini',
        input: [{ role: 'user', content: 'Rate' }],
      },
    ]);

    /** Runs a change with the triggers on; the messages they wrote must be what the emitter writes for `changes`. */
    const step = async (
      change: () => Promise<unknown>,
      changes: EvaluationChange[],
      batchId: string | null = null,
    ) => {
      const known = new Set((await messages(sql)).map((m) => m.id));
      await change();
      const triggered = (await messages(sql)).filter((m) => !known.has(m.id));
      const ours = await emitted(sql, changes, batchId);
      // Compared as sets: the messages of one change share created_at (to the millisecond) and
      // the triggers' ids are random, so their order in the table is not the order written.
      const sorted = (rows: string[][]) => rows.sort((a, b) => a.join().localeCompare(b.join()));
      expect(
        sorted(ours.map((m) => [m.event_type, withoutLater(withoutTimestamp(m.payload))])),
      ).toEqual(sorted(triggered.map((m) => [m.event_type, withoutTimestamp(m.payload)])));
      return triggered;
    };
    const result = (
      item: string,
      grader: string,
      type: string,
      score: number | null,
      passed: boolean | null,
      error: string | null,
    ) =>
      sql(
        `INSERT INTO evaluation_results (id, evaluation_id, evaluation_item_id, grader_name, grader_type, score, passed, error) VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5, $6, $7, $8)`,
        [randomUUID(), x, item, grader, type, score, passed, error],
      );

    const created = await step(
      () =>
        sql(
          `INSERT INTO evaluations (id, project_id, batch_id, name, testing_criteria, data_source, total_count, updated_at) VALUES ($1::uuid, $2::uuid, $3::uuid, 'nightly ü "1"', $4::jsonb, '{}', 3, now())`,
          [x, project, batch, criteria],
        ),
      [{ type: 'evaluation.created', id: x }],
    );
    expect(created.map((m) => m.event_type)).toEqual(['evaluation.created']);
    await step(
      () =>
        sql(`UPDATE evaluations SET status = 'RUNNING', started_at = now() WHERE id = $1::uuid`, [
          x,
        ]),
      [{ type: 'evaluation.started', id: x }],
    );
    const items = [randomUUID(), randomUUID(), randomUUID()];
    for (const [i, item] of items.entries())
      await sql(
        `INSERT INTO evaluation_items (id, evaluation_id, position, input) VALUES ($1::uuid, $2::uuid, $3, '1')`,
        [item, x, i],
      );
    await result(items[0], 'exact', 'STRING_CHECK', 1, true, null);
    await result(items[0], 'judge ü', 'SCORE_MODEL', null, null, 'no JSON');
    // A third done: percentDone is 33.333333333333336, as a double prints.
    const progress = await step(
      () =>
        sql(`UPDATE evaluations SET completed_count = 1, errored_count = 1 WHERE id = $1::uuid`, [
          x,
        ]),
      [{ type: 'evaluation.progress', id: x }],
    );
    expect(progress.map((m) => m.event_type)).toEqual(['evaluation.progress']);
    await result(items[1], 'exact', 'STRING_CHECK', 0, false, null);
    await result(items[2], 'exact', 'STRING_CHECK', 0.25, false, null);
    const ended = await step(
      () =>
        sql(
          `UPDATE evaluations SET completed_count = 3, failed_count = 2, errored_count = 1, status = 'COMPLETED', finished_at = now() WHERE id = $1::uuid`,
          [x],
        ),
      [{ type: 'evaluation.completed', id: x }],
      batch,
    );
    expect(ended.map((m) => m.event_type).sort()).toEqual([
      'batch.completed',
      'evaluation.completed',
    ]);
    // No items, no batch, never started: percentDone 100, null ids and times, graders without results.
    await step(
      () =>
        sql(
          `INSERT INTO evaluations (id, project_id, name, testing_criteria, data_source, updated_at) VALUES ($1::uuid, $2::uuid, 'empty', $3::jsonb, '{}', now())`,
          [y, project, criteria],
        ),
      [{ type: 'evaluation.created', id: y }],
    );
    await step(
      () =>
        sql(
          `UPDATE evaluations SET status = 'FAILED', finished_at = now(), error_code = 'QUOTA_EXCEEDED', error = $2 WHERE id = $1::uuid`,
          [y, 'over "quota"\n\tü'],
        ),
      [{ type: 'evaluation.failed', id: y }],
    );
    const pending = await messages(sql);
    expect(pending).toHaveLength(7);
    await sql(`ALTER TABLE webhook_messages DROP COLUMN subject_id`);
    await db.close();

    // The upgrade.
    const upgraded = runCli(['migrate', '--json'], t.env);
    expect(upgraded.status).toBe(0);
    // The events migration first (later ones, such as scores, follow it).
    expect(JSON.parse(upgraded.stdout).applied[0]).toBe('20261205183200_events_from_typescript');
    const after = await t.connect();
    expect(await after.sql(`SELECT tgname FROM pg_trigger WHERE NOT tgisinternal`)).toEqual([]);
    // The backfill named each message's subject: its evaluation, or the batch.
    const subjects = await after.sql<{ subject: string | null }>(
      `SELECT subject_id::text AS subject FROM webhook_messages`,
    );
    expect(subjects).toHaveLength(pending.length);
    for (const { subject } of subjects) expect([x, y, batch]).toContain(subject);
    await after.close();

    server = await startServeProcess({
      ...t.env,
      REDIS_URL: '',
      EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    });
    await until(() => receiver.received.length >= pending.length, 30_000, 'the pending messages');
    const byId = new Map(receiver.received.map((r) => [r.headers['webhook-id'], r]));
    expect([...byId.keys()].sort()).toEqual(pending.map((m) => m.id).sort());
    for (const m of pending) {
      const r = byId.get(m.id)!;
      expect(r.body).toBe(m.payload);
      expect(new Webhook(secret).verify(r.body, r.headers as Record<string, string>)).toMatchObject(
        { type: m.event_type },
      );
    }
  } finally {
    await server?.stop('SIGTERM');
    await receiver.close();
    await t.cleanup();
  }
});
