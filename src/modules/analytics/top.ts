// Top-N over aggregated groups ("top spenders", "slowest models"): costSummary rows and metrics
// series are ranked here by one of their measures. Pure.
import { toUnits } from '../../lib/money';

export type OrderField = 'COST' | 'CALLS' | 'TOKENS' | 'LATENCY_P95' | 'ERROR_RATE';

export interface Order {
  field: OrderField;
  direction: 'asc' | 'desc';
}

/** What a group is ranked by (a costSummary row and a series' totals both have these). */
export interface Measured {
  cost: string | null;
  calls: number;
  errors: number;
  totalTokens: bigint;
  p95LatencyMs: number | null;
}

/** The measure of a group, null when it cannot be computed (no priced call, no latency). */
function measure(field: OrderField, m: Measured): bigint | number | null {
  switch (field) {
    case 'COST':
      return m.cost === null ? null : toUnits(m.cost);
    case 'CALLS':
      return m.calls;
    case 'TOKENS':
      return m.totalTokens;
    case 'LATENCY_P95':
      return m.p95LatencyMs;
    case 'ERROR_RATE':
      return m.calls ? m.errors / m.calls : null;
  }
}

/**
 * The first `limit` items by `order` (all of them without a limit). The sort is stable, so items
 * given in key order stay in key order where their measures tie. A group whose measure is null
 * (unknown, not 0) comes after every known one, in either direction.
 */
export function topN<T extends Measured>(items: T[], order: Order | null, limit: number | null) {
  const ranked = order
    ? items
        .map((item) => ({ item, value: measure(order.field, item) }))
        .sort((a, b) => {
          if (a.value === null || b.value === null)
            return a.value === b.value ? 0 : a.value === null ? 1 : -1;
          const c = a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
          return order.direction === 'asc' ? c : -c;
        })
        .map(({ item }) => item)
    : items;
  return limit === null ? ranked : ranked.slice(0, limit);
}

/** Compares group keys as grouped, each ascending with nulls last (the order without orderBy). */
export function compareKeys<K extends string>(dims: readonly K[]) {
  const compare = (a?: string | null, b?: string | null) =>
    a === b ? 0 : a == null ? 1 : b == null ? -1 : a < b ? -1 : 1;
  return (a: Partial<Record<K, string | null>>, b: Partial<Record<K, string | null>>) => {
    for (const d of dims) {
      const c = compare(a[d], b[d]);
      if (c !== 0) return c;
    }
    return 0;
  };
}
