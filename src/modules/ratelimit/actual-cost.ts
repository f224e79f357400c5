// The actual cost of an operation: the plan of cost.ts walked over the data it returned, each
// list at its real length and each abstract-typed value at its concrete type. Pure.
import {
  isObjectType,
  type DocumentNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
} from 'graphql';
import { costPlan, type CostPlan, type PlanField } from './cost';
import { floor } from './field-cost';

/** What the operation cost, from the data it returned (lists at their real lengths). */
export function planActualCost(schema: GraphQLSchema, costs: CostPlan, data: unknown): number {
  return data && typeof data === 'object'
    ? actual(schema, costs.fields, costs.root, data as Record<string, unknown>)
    : 0;
}

/** What the operation cost, from the data it returned (lists at their real lengths). */
export function actualCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
  operationName: string | null | undefined,
  data: unknown,
): number {
  const costs = costPlan(schema, document, variables, operationName);
  return costs ? planActualCost(schema, costs, data) : 0;
}

function actual(
  schema: GraphQLSchema,
  fields: PlanField[],
  parent: GraphQLCompositeType,
  data: Record<string, unknown>,
): number {
  let total = 0;
  for (const f of fields) {
    // A fragment on another concrete type than this value's is not part of its answer.
    if (isObjectType(parent) && f.on !== parent && isObjectType(f.on)) continue;
    if (!(f.key in data)) continue; // not reached (an error above it)
    let cost = f.declared;
    const value = data[f.key];
    if (f.children && value !== null && typeof value === 'object') {
      cost += items(schema, f, value);
    }
    total += floor(f, cost);
  }
  return total;
}

/** The cost of the objects in a field's value: one, or a list (of lists) of them. */
function items(schema: GraphQLSchema, f: PlanField, value: object): number {
  if (!Array.isArray(value))
    return (
      f.objectCost +
      actual(
        schema,
        f.children!,
        resolveType(schema, f.childType!, value as Record<string, unknown>),
        value as Record<string, unknown>,
      )
    );
  let cost = 0;
  for (const item of value)
    if (item !== null && typeof item === 'object') cost += items(schema, f, item);
  return cost;
}

/** The concrete type of an abstract-typed value (by its __typename when selected), else the type itself. */
function resolveType(
  schema: GraphQLSchema,
  type: GraphQLCompositeType,
  value: Record<string, unknown>,
): GraphQLCompositeType {
  if (isObjectType(type)) return type;
  const name = typeof value.__typename === 'string' ? value.__typename : null;
  const concrete = name ? schema.getType(name) : null;
  return concrete && isObjectType(concrete) ? concrete : type;
}
