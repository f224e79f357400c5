// Database access for project prices and cost aggregation.
import { Prisma, type PrismaClient } from '../../generated/prisma/client';
import { fromUnits, toUnits } from '../../lib/money';
import type { SpanKind } from '../../generated/prisma/enums';
import type { Sql } from '../../storage/db';
import {
  aggregateSpans,
  type Dimension,
  type SpanAggregateRow,
  TooManyRowsError,
} from '../analytics/query';
import { quantile } from '../analytics/sketch';

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
  /** Whether latency quantiles are wanted (default true). */
  latency?: boolean;
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
  p99LatencyMs: number | null;
}

/** The dimension of each group key; DAY and HOUR are buckets of time. */
const DIMENSION: Partial<Record<CostGroupBy, Dimension>> = {
  MODEL: 'MODEL',
  USER: 'USER',
  PROJECT: 'PROJECT',
  SPAN_KIND: 'SPAN_KIND',
};

/**
 * Token and cost totals of model calls (spans with a cost, or that needed one: see
 * costs/unpriced.ts), grouped by the given keys: the rollups' aggregation (analytics/query.ts),
 * DAY and HOUR as its buckets of time. The one place that aggregates spend: costSummary, daily
 * totals and budgets read it. Every call counted is priced or unpriced, so the sum of the costs is
 * null exactly when no call of the row was priced.
 */
export async function summariseCosts(
  sql: Sql,
  query: CostQuery,
  /** config.rollups.enabled: whether span_rollups are maintained (analytics/query.ts). */
  rollups: boolean,
): Promise<CostRow[]> {
  const groupBy = [...new Set(query.groupBy)];
  const interval = groupBy.includes('HOUR') ? 'HOUR' : groupBy.includes('DAY') ? 'DAY' : null;
  let rows: SpanAggregateRow[];
  try {
    rows = await aggregateSpans(sql, {
      projectIds: query.projectIds,
      from: query.from,
      to: query.to,
      interval,
      groupBy: groupBy.flatMap((g) => DIMENSION[g] ?? []),
      filter: query.filter,
      callsOnly: true,
      sketch: query.latency ?? true,
      maxRows: query.maxRows,
      rollups,
    });
  } catch (error) {
    if (error instanceof TooManyRowsError) throw new TooManyGroupsError(error.limit);
    throw error;
  }
  const day = (t: Date) => t.toISOString().slice(0, 10);
  const summary = rows.map((row) => ({
    keys: Object.fromEntries(
      groupBy.map((g) => [
        g,
        g === 'DAY'
          ? day(row.time!)
          : g === 'HOUR'
            ? row.time!.toISOString()
            : row.keys[DIMENSION[g]!],
      ]),
    ),
    inputTokens: row.inputTokens,
    outputTokens: row.outputTokens,
    cachedInputTokens: row.cachedInputTokens,
    totalTokens: row.totalTokens,
    cost: row.cost === null ? null : fromUnits(toUnits(row.cost)),
    calls: row.spans,
    unpricedCalls: row.unpriced,
    defaultPricedCalls: row.defaultPriced,
    errors: row.errors,
    p50LatencyMs: quantile(row.latency, 0.5),
    p95LatencyMs: quantile(row.latency, 0.95),
    p99LatencyMs: quantile(row.latency, 0.99),
  }));
  // Ordered by the keys as grouped, each ascending with nulls last.
  const compare = (a?: string | null, b?: string | null) =>
    a === b ? 0 : a == null ? 1 : b == null ? -1 : a < b ? -1 : 1;
  return summary.sort((a, b) => {
    for (const g of groupBy) {
      const c = compare(a.keys[g], b.keys[g]);
      if (c !== 0) return c;
    }
    return 0;
  });
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

export function deletePrice(
  prisma: PrismaClient | Prisma.TransactionClient,
  projectId: string,
  id: string,
) {
  return prisma.modelPrice.deleteMany({ where: { id, projectId } });
}
