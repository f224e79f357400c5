// An `execute` for Yoga's engine that runs repeated query operations through graphql-jit (the
// document compiled once into a JavaScript function) and everything else through graphql-js.
// graphql-jit removes graphql-js's per-field interpretation (argument coercion, field lookup,
// promise bookkeeping), which is most of the CPU of a large list query. Answers are the same
// either way, byte for byte (a test holds it to that).
import {
  execute as jsExecute,
  getLocation,
  getNamedType,
  getOperationAST,
  GraphQLError,
  isAbstractType,
  isObjectType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type GraphQLSchema,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

/** A document is compiled the second time it runs: one-off queries are not worth compiling. */
const COMPILE_AFTER = 2;

type Entry = { runs: number; compiled?: CompiledQuery | null };

export function createJitExecute(schema: GraphQLSchema) {
  // Keyed by the parsed document, which Yoga's parser cache reuses for the same text (and evicts).
  const byDocument = new WeakMap<DocumentNode, Map<string, Entry>>();
  /** Operations run each way so far (tests and metrics read it). */
  const stats = { compiled: 0, interpreted: 0 };

  function entryOf(document: DocumentNode, operationName: string) {
    let ops = byDocument.get(document);
    if (!ops) byDocument.set(document, (ops = new Map()));
    let entry = ops.get(operationName);
    if (!entry) ops.set(operationName, (entry = { runs: 0 }));
    return entry;
  }

  function execute(args: ExecutionArgs) {
    const entry = args.schema === schema && args.rootValue === undefined && isQuery(args) ? entryOf(args.document, args.operationName ?? '') : null;
    if (entry && entry.compiled === undefined && ++entry.runs >= COMPILE_AFTER) {
      const compiled = reachesIsTypeOf(schema, args.document) ? null : compileQuery(schema, args.document, args.operationName ?? undefined);
      entry.compiled = compiled && isCompiledQuery(compiled) ? compiled : null;
    }
    if (!entry?.compiled) {
      stats.interpreted++;
      return jsExecute(args);
    }
    stats.compiled++;
    const result = entry.compiled.query(undefined, args.contextValue, args.variableValues ?? {});
    return isPromise(result) ? result.then((r) => likeGraphqlJs(r, args.document)) : likeGraphqlJs(result, args.document);
  }
  return Object.assign(execute, { stats });
}

const isQuery = (args: ExecutionArgs) => getOperationAST(args.document, args.operationName)?.operation === 'query';

const isPromise = <T>(value: T | Promise<T>): value is Promise<T> => typeof (value as Promise<T>)?.then === 'function';

/**
 * Whether the document reaches an object type with `isTypeOf`. Pothos' scope-auth checks type-level
 * scopes there, with the context and possibly asynchronously, and graphql-jit calls `isTypeOf` with
 * the value only (and takes a pending promise for true): such documents stay on graphql-js.
 */
function reachesIsTypeOf(schema: GraphQLSchema, document: DocumentNode): boolean {
  const typeInfo = new TypeInfo(schema);
  let found = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        const type = getNamedType(typeInfo.getType());
        if (!type) return;
        if (isObjectType(type) && type.isTypeOf) found = true;
        else if (isAbstractType(type) && schema.getPossibleTypes(type).some((t) => t.isTypeOf)) found = true;
      },
    }),
  );
  return found;
}

/**
 * graphql-jit's errors carry locations but not the AST nodes that graphql-js (and Yoga, which
 * rebuilds errors from their nodes) read locations from; and graphql-js puts `errors` first.
 * Errors are rare, so they are rebuilt here as graphql-js would have made them.
 */
function likeGraphqlJs(result: ExecutionResult, document: DocumentNode): ExecutionResult {
  if (!result.errors) return result;
  const errors = result.errors.map(
    (e) => new GraphQLError(e.message, { nodes: fieldsAt(document, e.locations), path: e.path, originalError: e.originalError ?? undefined, extensions: e.extensions }),
  );
  const { data, extensions } = result;
  return extensions ? { errors, data, extensions } : { errors, data };
}

const fieldsByLocation = new WeakMap<DocumentNode, Map<string, FieldNode>>();

function fieldsAt(document: DocumentNode, locations: readonly { line: number; column: number }[] | undefined): FieldNode[] | undefined {
  if (!locations?.length) return undefined;
  let map = fieldsByLocation.get(document);
  if (!map) {
    const fields = new Map<string, FieldNode>();
    visit(document, {
      [Kind.FIELD](node: FieldNode) {
        if (!node.loc) return;
        const { line, column } = getLocation(node.loc.source, node.loc.start);
        fields.set(`${line}:${column}`, node);
      },
    });
    fieldsByLocation.set(document, (map = fields));
  }
  const nodes = locations.map((l) => map.get(`${l.line}:${l.column}`)).filter((n): n is FieldNode => n !== undefined);
  return nodes.length ? nodes : undefined;
}
