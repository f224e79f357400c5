// Query cost, Shopify/GitHub style: what an operation may cost before it runs (requested cost,
// from the document: here) and what it did cost (actual cost, from the result's real list
// lengths: actual-cost.ts, walking the plan made here). What each field costs is in field-cost.ts.
// Fragments, inline fragments, aliases and variables count as written. Pure.
import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  valueFromASTUntyped,
} from 'graphql';
import { getArgumentValues } from 'graphql/execution/values';
import { pageSize } from '../../lib/pages';
import {
  declaredCost,
  type Field,
  type FieldCost,
  floor,
  isConnection,
  listMultiplier,
  objectCost,
} from './field-cost';

interface Walk {
  schema: GraphQLSchema;
  fragments: Map<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  /** Plans of selection sets already made (a fragment spread many times is planned once). */
  plans: WeakMap<SelectionSetNode, Map<string, PlanField[]>>;
}

/** Each field node selected, with the type it is selected on (a fragment's type condition, else `parent`). */
function* fieldsOf(
  walk: Walk,
  parent: GraphQLCompositeType,
  selectionSet: SelectionSetNode,
  seen = new Set<string>(),
): Generator<[FieldNode, GraphQLCompositeType]> {
  const on = (name: string | undefined) => {
    const type = name ? walk.schema.getType(name) : null;
    return type && isCompositeType(type) ? type : parent;
  };
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) yield [selection, parent];
    else if (selection.kind === Kind.INLINE_FRAGMENT)
      yield* fieldsOf(walk, on(selection.typeCondition?.name.value), selection.selectionSet, seen);
    else if (!seen.has(selection.name.value)) {
      // Once per selection set, as graphql-js collects fields: spreading it again adds nothing.
      seen.add(selection.name.value);
      const fragment = walk.fragments.get(selection.name.value);
      if (fragment)
        yield* fieldsOf(walk, on(fragment.typeCondition.name.value), fragment.selectionSet, seen);
    }
  }
}

/** The field to count, or null for what costs nothing (introspection, free fields). */
function fieldDef(_walk: Walk, parent: GraphQLCompositeType, node: FieldNode): Field | null {
  if (node.name.value.startsWith('__')) return null;
  if (!('getFields' in parent)) return null; // a union: only __typename is selectable on it directly
  const field = parent.getFields()[node.name.value];
  return field && !(field.extensions as FieldCost | undefined)?.free ? field : null;
}

function argsOf(
  field: Field,
  node: FieldNode,
  variables: Record<string, unknown>,
): Record<string, unknown> {
  try {
    return getArgumentValues(field, node, variables);
  } catch {
    return {}; // invalid arguments are refused by execution; the cost is then moot
  }
}

/** One selected field, its cost settled for these variables: what the walks over results need. */
export interface PlanField {
  key: string;
  /** The type it was selected on (a fragment's type condition, or the parent). */
  on: GraphQLCompositeType;
  declared: number;
  /** Per object returned (0 for leaves and for a connection's edge wrappers). */
  objectCost: number;
  /** Objects it may return (the requested cost's multiplier); 0 for leaves. */
  count: number;
  children: PlanField[] | null;
  childType: GraphQLCompositeType | null;
  rootMutation: boolean;
}

export interface CostPlan {
  requested: number;
  fields: PlanField[];
  /** The operation's root type (actual costs are walked from it). */
  root: GraphQLCompositeType;
}

function plan(
  walk: Walk,
  parent: GraphQLCompositeType,
  selectionSet: SelectionSetNode,
  rootMutation: boolean,
  page: number | null,
): PlanField[] {
  let byContext = walk.plans.get(selectionSet);
  if (!byContext) walk.plans.set(selectionSet, (byContext = new Map()));
  const key = `${parent.name}:${page}:${rootMutation}`;
  const known = byContext.get(key);
  if (known) return known;
  const fields: PlanField[] = [];
  byContext.set(key, fields);
  for (const [node, on] of fieldsOf(walk, parent, selectionSet)) {
    const field = fieldDef(walk, on, node);
    if (!field) continue;
    const args = argsOf(field, node, walk.variables);
    const type = getNamedType(field.type);
    const composite = isCompositeType(type);
    const declared = declaredCost(field, args);
    // A leaf that costs nothing is left out: the walk over results then visits only what counts.
    if (!composite && declared === 0 && !rootMutation) continue;
    fields.push({
      key: node.alias?.value ?? node.name.value,
      on,
      declared,
      objectCost: composite ? objectCost(field, on) : 0,
      count: composite
        ? isListType(getNullableType(field.type))
          ? listMultiplier(field, on, page, args)
          : 1
        : 0,
      children:
        composite && node.selectionSet
          ? plan(walk, type, node.selectionSet, false, isConnection(type) ? pageSize(args) : null)
          : composite
            ? []
            : null,
      childType: composite ? type : null,
      rootMutation,
    });
  }
  return fields;
}

// Shared sub-plans (fragments spread in many places) are summed once each.
const requestedOf = new WeakMap<PlanField[], number>();

function requested(fields: PlanField[]): number {
  const known = requestedOf.get(fields);
  if (known !== undefined) return known;
  let total = 0;
  for (const f of fields)
    total += floor(
      f,
      f.declared + (f.children ? f.count * (f.objectCost + requested(f.children)) : 0),
    );
  requestedOf.set(fields, total);
  return total;
}

function operationOf(
  document: DocumentNode,
  operationName?: string | null,
): OperationDefinitionNode | null {
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  return (
    (operationName
      ? operations.find((o) => o.name?.value === operationName)
      : operations.length === 1
        ? operations[0]
        : null) ?? null
  );
}

function walkOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  raw: Record<string, unknown> | null | undefined,
): Walk {
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((f) => [f.name.value, f]),
  );
  return { schema, fragments, variables: withDefaults(operation, raw), plans: new WeakMap() };
}

/**
 * The variables as sent, with their declared defaults. Costs read numbers (`first`) and list
 * lengths (a batch's items), which coercion leaves as they are; coercing a 1,000-item batch here
 * as well as in execution doubled its cost. A value that coercion would refuse is refused by
 * execution; a single item where a list is expected counts as none, and every mutation costs at
 * least its floor.
 */
function withDefaults(
  operation: OperationDefinitionNode,
  raw: Record<string, unknown> | null | undefined,
): Record<string, unknown> {
  // Without a prototype: a variable named `constructor` or `__proto__` is one the request sent
  // or none (its default), never Object's.
  const variables: Record<string, unknown> = Object.assign(Object.create(null), raw);
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (variables[name] === undefined && definition.defaultValue)
      variables[name] = valueFromASTUntyped(definition.defaultValue);
  }
  return variables;
}

function rootOf(schema: GraphQLSchema, operation: OperationDefinitionNode) {
  return operation.operation === 'query'
    ? schema.getQueryType()
    : operation.operation === 'mutation'
      ? schema.getMutationType()
      : schema.getSubscriptionType();
}

/** The cost plan of an operation for these variables (null when the operation is not found). */
export function costPlan(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables?: Record<string, unknown> | null,
  operationName?: string | null,
): CostPlan | null {
  const operation = operationOf(document, operationName);
  const root = operation && rootOf(schema, operation);
  if (!operation || !root) return null;
  const fields = plan(
    walkOf(schema, document, operation, variables),
    root,
    operation.selectionSet,
    operation.operation === 'mutation',
    null,
  );
  return { requested: requested(fields), fields, root };
}

/** The most the operation can cost, from the document (0 when the operation is not found). */
export function requestedCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables?: Record<string, unknown> | null,
  operationName?: string | null,
): number {
  return costPlan(schema, document, variables, operationName)?.requested ?? 0;
}

/**
 * Plans kept per document and variables (a busy API repeats a few operations): the cost walk
 * then runs once per distinct request, not per request. Large variables (ingest batches) are
 * not worth keeping.
 */
export function createCostPlans(schema: GraphQLSchema) {
  const byDocument = new WeakMap<DocumentNode, Map<string, CostPlan | null>>();
  return (
    document: DocumentNode,
    variables: Record<string, unknown> | null | undefined,
    operationName: string | null | undefined,
  ): CostPlan | null => {
    const key = smallKey(variables);
    if (key === null) return costPlan(schema, document, variables, operationName);
    let plans = byDocument.get(document);
    if (!plans) byDocument.set(document, (plans = new Map()));
    const cacheKey = `${operationName ?? ''}\u0000${key}`;
    let found = plans.get(cacheKey);
    if (found === undefined) {
      found = costPlan(schema, document, variables, operationName);
      if (plans.size >= 100) plans.delete(plans.keys().next().value!);
      plans.set(cacheKey, found);
    }
    return found;
  };
}

/** The variables as a cache key, or null when they are large (a batch: not stringified at all). */
function smallKey(variables: Record<string, unknown> | null | undefined): string | null {
  let budget = 256; // values, counted as the walk meets them
  const small = (value: unknown): boolean => {
    if (--budget < 0) return false;
    if (typeof value === 'string') return value.length <= 1_024;
    // JSON writes Infinity (a parsed 1e400) as null: such variables would share null's plan.
    if (typeof value === 'number') return Number.isFinite(value);
    if (Array.isArray(value)) return value.every(small);
    if (value && typeof value === 'object') return Object.values(value).every(small);
    return true;
  };
  if (!small(variables ?? {})) return null;
  const key = JSON.stringify(variables ?? {});
  return key.length > 2_048 ? null : key;
}
