// Database access for project prices and cost aggregation.
import { Prisma, type PrismaClient } from '../../generated/prisma/client';
import { normaliseModelName } from '../../lib/model-name';
import { fromUnits, toUnits } from '../../lib/money';
import type { SpanKind } from '../../generated/prisma/enums';
import { needsPriceSql } from './unpriced';

export type CostGroupBy = 'MODEL' | 'USER' | 'PROJECT' | 'DAY' | 'HOUR' | 'SPAN_KIND';

export interface CostFilter {
  /** Compared normalised (src/lib/model-name.ts), as MODEL groups are. */
  models?: string[] | null;
  userIds?: string[] | null;
  sessionIds?: string[] | null;
  spanKinds?: SpanKind[] | null;
  tags?: string[] | null;
}

export interface CostQuery {
  projectIds: string[];
  from: Date;
  to: Date;
  groupBy: CostGroupBy[];
  filter?: CostFilter | null;
  /** Refuse to return more groups than this. */
  maxRows: number;
}

export interface CostRow {
  keys: Partial<Record<CostGroupBy, string>>;
  inputTokens: bigint;
  outputTokens: bigint;
  cachedInputTokens: bigint;
  totalTokens: bigint;
  /** USD of the priced calls; null when none of the row's calls could be priced. */
  cost: string | null;
  calls: number;
  /** Calls that needed a price and have none (costs/unpriced.ts); not in `cost`. */
  unpricedCalls: number;
  /** Calls priced by the default model price (EVALGRAPH_DEFAULT_MODEL_PRICE); in `cost`. */
  defaultPricedCalls: number;
  errors: number;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
}

const KEY_SQL: Record<CostGroupBy, string> = {
  MODEL: 's.normalized_model',
  USER: 's.user_id',
  PROJECT: 's.project_id::text',
  DAY: `to_char(s.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  HOUR: `to_char(date_trunc('hour', s.start_time AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:00:00.000"Z"')`,
  SPAN_KIND: 's.kind::text',
};

/**
 * Token and cost totals of model calls (spans with a cost, or that needed one: see
 * costs/unpriced.ts), grouped by the given keys. The one place that aggregates spend:
 * costSummary, daily totals and budgets read it. Every call counted is priced or unpriced, so the
 * sum of the costs is null exactly when no call of the row was priced.
 */
export async function summariseCosts(prisma: PrismaClient, query: CostQuery): Promise<CostRow[]> {
  const groupBy = [...new Set(query.groupBy)];
  const params: unknown[] = [query.projectIds, query.from, query.to];
  const param = (value: unknown) => `$${params.push(value)}`;
  const where = [
    's.project_id = ANY($1::uuid[])',
    's.start_time >= $2',
    's.start_time < $3',
    `(s.total_cost IS NOT NULL OR ${needsPriceSql('s')})`,
  ];
  const f = query.filter ?? {};
  if (f.models?.length)
    where.push(`s.normalized_model = ANY(${param(f.models.map(normaliseModelName))}::text[])`);
  if (f.userIds?.length) where.push(`s.user_id = ANY(${param(f.userIds)}::text[])`);
  if (f.sessionIds?.length) where.push(`s.session_id = ANY(${param(f.sessionIds)}::text[])`);
  if (f.spanKinds?.length) where.push(`s.kind::text = ANY(${param(f.spanKinds)}::text[])`);
  if (f.tags?.length) where.push(`s.tags @> ${param(f.tags)}::text[]`);
  const keys = groupBy.map((g, i) => `${KEY_SQL[g]} AS k${i}`);
  const groupList = groupBy.map((_, i) => `${i + 1}`).join(', ');
  const sql = `SELECT ${[...keys, ''].join(', ')}
      sum(s.input_tokens)::bigint AS input_tokens, sum(s.output_tokens)::bigint AS output_tokens,
      sum(s.cached_input_tokens)::bigint AS cached_input_tokens, sum(s.total_tokens)::bigint AS total_tokens,
      sum(s.total_cost)::text AS cost, count(*)::int AS calls,
      count(*) FILTER (WHERE s.total_cost IS NULL)::int AS unpriced_calls,
      count(*) FILTER (WHERE s.price_source = 'DEFAULT')::int AS default_priced_calls,
      count(*) FILTER (WHERE s.status = 'ERROR')::int AS errors,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY s.latency_ms)::float8 AS p50,
      percentile_cont(0.95) WITHIN GROUP (ORDER BY s.latency_ms)::float8 AS p95
    FROM spans s WHERE ${where.join(' AND ')}
    ${groupBy.length ? `GROUP BY ${groupList} ORDER BY ${groupList}` : ''}
    LIMIT ${query.maxRows + 1}`;
  const rows = await prisma.$queryRawUnsafe<Record<string, unknown>[]>(sql, ...params);
  if (rows.length > query.maxRows) throw new TooManyGroupsError(query.maxRows);
  return rows
    .filter((row) => groupBy.length > 0 || Number(row.calls) > 0)
    .map((row) => ({
      keys: Object.fromEntries(groupBy.map((g, i) => [g, row[`k${i}`] as string])),
      inputTokens: BigInt(row.input_tokens as bigint),
      outputTokens: BigInt(row.output_tokens as bigint),
      cachedInputTokens: BigInt(row.cached_input_tokens as bigint),
      totalTokens: BigInt(row.total_tokens as bigint),
      cost: row.cost === null ? null : fromUnits(toUnits(row.cost as string)),
      calls: Number(row.calls),
      unpricedCalls: Number(row.unpriced_calls),
      defaultPricedCalls: Number(row.default_priced_calls),
      errors: Number(row.errors),
      p50LatencyMs: row.p50 == null ? null : Number(row.p50),
      p95LatencyMs: row.p95 == null ? null : Number(row.p95),
    }));
}

export class TooManyGroupsError extends Error {
  constructor(public readonly limit: number) {
    super(`more than ${limit} groups`);
  }
}

type PriceRecord = Awaited<ReturnType<PrismaClient['modelPrice']['findFirstOrThrow']>>;

/** A stored price with its amounts as decimal strings (what pricing and the API use). */
function toPriceRow(row: PriceRecord) {
  return {
    ...row,
    inputPrice: row.inputPrice.toString(),
    outputPrice: row.outputPrice.toString(),
    cachedInputPrice: row.cachedInputPrice?.toString() ?? null,
  };
}

export type PriceRow = ReturnType<typeof toPriceRow>;

export async function projectPrices(prisma: PrismaClient, projectId: string): Promise<PriceRow[]> {
  const rows = await prisma.modelPrice.findMany({
    where: { projectId },
    orderBy: [{ modelName: 'asc' }, { startDate: 'desc' }],
  });
  return rows.map(toPriceRow);
}

export interface PriceInput {
  projectId: string;
  modelName: string;
  matchPattern: string | null;
  provider: string | null;
  startDate: Date;
  inputPrice: string;
  outputPrice: string;
  cachedInputPrice: string | null;
}

/** One price per project, model name and start date: sending it again replaces it. */
export async function upsertPrice(prisma: PrismaClient, input: PriceInput): Promise<PriceRow> {
  const data = {
    matchPattern: input.matchPattern,
    provider: input.provider,
    inputPrice: new Prisma.Decimal(input.inputPrice),
    outputPrice: new Prisma.Decimal(input.outputPrice),
    cachedInputPrice:
      input.cachedInputPrice === null ? null : new Prisma.Decimal(input.cachedInputPrice),
  };
  const row = await prisma.modelPrice.upsert({
    where: {
      projectId_modelName_startDate: {
        projectId: input.projectId,
        modelName: input.modelName,
        startDate: input.startDate,
      },
    },
    create: {
      ...data,
      projectId: input.projectId,
      modelName: input.modelName,
      startDate: input.startDate,
    },
    update: data,
  });
  return toPriceRow(row);
}

export function deletePrice(prisma: PrismaClient, projectId: string, id: string) {
  return prisma.modelPrice.deleteMany({ where: { id, projectId } });
}
