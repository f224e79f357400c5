// What one field costs: the rules that both walks apply, the requested cost's over the document
// (cost.ts) and the actual cost's over the result (actual-cost.ts).
//   - a scalar or enum costs 0, each object 1 (a connection's edge wrappers 0: their node counts);
//   - a connection's edges and nodes are as many as `first` or `last` asks (default 20, at most
//     100); other lists of objects as many as they declare (`listSize`, default 10);
//   - fields may declare their own cost (`extensions.cost`: a number, or a function of the
//     arguments, e.g. ingestSpans by the number of spans); a mutation field costs at least 10;
//   - introspection costs nothing (its size is bounded by the schema).
// Fields declare their own cost and list size in Pothos' `extensions` (FieldCost).
import { isObjectType, type GraphQLCompositeType, type GraphQLField } from 'graphql';

export const DEFAULT_LIST_SIZE = 10;
export const MUTATION_COST = 10;

/** What a field may declare in `extensions`. */
export interface FieldCost {
  /** Its own cost (beyond 0 for leaves and 1 for objects), or a function of its arguments. */
  cost?: number | ((args: Record<string, unknown>) => number);
  /** Items a list field returns at most (its multiplier), or a function of its arguments. */
  listSize?: number | ((args: Record<string, unknown>) => number);
  /** The field and everything under it cost nothing (e.g. `rateLimit`). */
  free?: boolean;
}

export type Field = GraphQLField<unknown, unknown>;

export const isConnection = (type: GraphQLCompositeType) =>
  isObjectType(type) && type.name.endsWith('Connection') && 'edges' in type.getFields();

/** What the field declares for itself (and a root mutation's floor). */
export function declaredCost(field: Field, args: Record<string, unknown>): number {
  const declared = (field.extensions as FieldCost | undefined)?.cost;
  return typeof declared === 'function' ? counted(declared, args) : (declared ?? 0);
}

/** A declared function's count; arguments reach it as sent (cost.ts), so it may read anything. */
function counted(
  declared: (args: Record<string, unknown>) => number,
  args: Record<string, unknown>,
) {
  try {
    const n = declared(args);
    return Number.isFinite(n) && n > 0 ? n : 0;
  } catch {
    return 0; // arguments execution refuses
  }
}

/** Each object returned by the field costs this much before its own selection. */
export const objectCost = (field: Field, parent: GraphQLCompositeType) =>
  isConnection(parent) && field.name === 'edges' ? 0 : 1;

export const floor = (f: { rootMutation: boolean }, cost: number) =>
  f.rootMutation ? Math.max(cost, MUTATION_COST) : cost;

/** How many items a list field returns at most: a connection's page for its edges and nodes, else its declared size. */
export function listMultiplier(
  field: Field,
  parent: GraphQLCompositeType,
  page: number | null,
  args: Record<string, unknown>,
): number {
  if (page !== null && isConnection(parent) && (field.name === 'edges' || field.name === 'nodes'))
    return page;
  const declared = (field.extensions as FieldCost | undefined)?.listSize;
  return typeof declared === 'function' ? counted(declared, args) : (declared ?? DEFAULT_LIST_SIZE);
}
