// The migration that added spans.normalized_model and unpriced trace totals backfills older rows
// with an SQL copy of normaliseModelName: applied to a database holding spans written before it,
// it must give what the TypeScript gives, for every built-in model in many spellings, and null
// the costs that were 0 only because they could not be computed.
import { normaliseModelName } from '../src/lib/model-name';
import { BUILTIN_PRICES } from '../src/modules/costs/builtin-prices';
import { emptyDatabase, migrateBefore, migrationScript } from './support/migration-scripts';

// Runs every migration on an empty database: seconds on PGlite, more on a busy machine.
jest.setTimeout(120_000);

const MIGRATION = '20261205180823_unpriced_costs_and_normalized_model';

/** Every built-in model as clients spell it: cased, prefixed, dated, pinned, routed. */
function spellings(): string[] {
  const families = [...new Set(BUILTIN_PRICES.map((p) => p.modelName))];
  const forms = (m: string) => [
    m,
    m.toUpperCase(),
    `openai/${m}`,
    `azure/${m}-2024-08-06`,
    `bedrock/us.anthropic.${m}-20250929-v1:0`,
    `models/${m}-002`,
    `${m}-20240806`,
    `${m}@2024-08-06`,
    `${m}-latest`,
    `${m}-preview-05-06`,
    `${m}-exp-0827`,
    `${m}-08-2024`,
    `${m}:free`,
    ` ${m} `,
  ];
  return [
    ...families.flatMap(forms),
    'claude-3.5-sonnet',
    'claude-3-5-sonnet-v2@20241022',
    'meta-llama/llama-3.3-70b:free',
    'my-local-llama',
    'x-0613-latest',
  ];
}

it('backfills normalized_model as normaliseModelName does, and unpriced costs as null', async () => {
  // The migrations before this one, then rows as the code before it wrote them.
  const db = await emptyDatabase();
  try {
    await migrateBefore(db, MIGRATION);
    const [project] = await db.sql<{ id: string }>(
      `INSERT INTO projects (id, name, updated_at) VALUES (gen_random_uuid(), 'p', now()) RETURNING id::text`,
    );
    const trace = async (externalId: string, cost: string) =>
      (
        await db.sql<{ id: string }>(
          `INSERT INTO traces (id, project_id, external_id, start_time, input_cost, output_cost, total_cost, updated_at)
         VALUES (gen_random_uuid(), $1::uuid, $2, now(), $3, $3, $3, now()) RETURNING id::text`,
          [project.id, externalId, cost],
        )
      )[0].id;
    const models = spellings();
    const many = await trace('many models', '0');
    await db.sql(
      `INSERT INTO spans (id, project_id, trace_id, external_id, name, model, start_time, updated_at)
       SELECT gen_random_uuid(), $1::uuid, $2::uuid, 's' || i, 'call', m, now(), now() FROM unnest($3::text[]) WITH ORDINALITY AS u(m, i)`,
      [project.id, many, models],
    );
    // Before: a span with only totalTokens was priced at 0; a trace of it and a priced span.
    const span = (
      traceId: string,
      id: string,
      over: {
        model: string;
        input: number;
        output: number;
        total: number;
        cost: string | null;
        provided?: boolean;
      },
    ) =>
      db.sql(
        `INSERT INTO spans (id, project_id, trace_id, external_id, name, kind, model, input_tokens, output_tokens, total_tokens, input_cost, output_cost, total_cost, cost_provided, start_time, updated_at)
         VALUES (gen_random_uuid(), $1::uuid, $2::uuid, $3, 'call', 'LLM', $4, $5, $6, $7, $8, $8, $8, $9, now(), now())`,
        [
          project.id,
          traceId,
          id,
          over.model,
          over.input,
          over.output,
          over.total,
          over.cost,
          over.provided ?? false,
        ],
      );
    const onlyTotal = await trace('only total', '0');
    await span(onlyTotal, 'a', {
      model: 'gpt-4o-mini',
      input: 0,
      output: 0,
      total: 1000,
      cost: '0',
    });
    const mixed = await trace('mixed', '0.3');
    await span(mixed, 'a', { model: 'gpt-4o-mini', input: 0, output: 0, total: 1000, cost: '0' });
    await span(mixed, 'b', {
      model: 'gpt-4o-mini',
      input: 1000,
      output: 0,
      total: 1000,
      cost: '0.3',
    });
    await span(mixed, 'c', {
      model: 'gpt-4o-mini',
      input: 0,
      output: 0,
      total: 1000,
      cost: '0',
      provided: true,
    });

    await db.script(await migrationScript(MIGRATION));

    const rows = await db.sql<{ model: string; normalized_model: string }>(
      `SELECT model, normalized_model FROM spans WHERE trace_id = $1::uuid`,
      [many],
    );
    expect(rows).toHaveLength(models.length);
    const disagree = rows
      .filter((r) => r.normalized_model !== normaliseModelName(r.model))
      .map((r) => ({ model: r.model, sql: r.normalized_model, ts: normaliseModelName(r.model) }));
    expect(disagree).toEqual([]);

    const costs = await db.sql<{
      external_id: string;
      total_cost: string | null;
      unpriced_span_count: number;
    }>(
      `SELECT external_id, trim_scale(total_cost)::text AS total_cost, unpriced_span_count FROM traces WHERE external_id <> 'many models' ORDER BY external_id`,
    );
    expect(costs).toEqual([
      { external_id: 'mixed', total_cost: '0.3', unpriced_span_count: 1 },
      { external_id: 'only total', total_cost: null, unpriced_span_count: 1 },
    ]);
    const spans = await db.sql<{ total_cost: string | null }>(
      `SELECT trim_scale(s.total_cost)::text AS total_cost FROM spans s JOIN traces t ON t.id = s.trace_id WHERE t.external_id = 'mixed' ORDER BY s.external_id`,
    );
    expect(spans.map((s) => s.total_cost)).toEqual([null, '0.3', '0']);
  } finally {
    await db.close();
  }
});
