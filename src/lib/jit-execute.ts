// An `execute` for Yoga's engine that runs repeated queries and mutations through graphql-jit (the
// document compiled once into a JavaScript function) and subscriptions through graphql-js.
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
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ASTNode,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
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
    const entry =
      args.schema === schema && args.rootValue === undefined && isQueryOrMutation(args)
        ? entryOf(args.document, args.operationName ?? '')
        : null;
    if (entry && entry.compiled === undefined && ++entry.runs >= COMPILE_AFTER) {
      const compiled = reachesIsTypeOf(schema, args.document)
        ? null
        : compileQuery(schema, args.document, args.operationName ?? undefined);
      entry.compiled = compiled && isCompiledQuery(compiled) ? compiled : null;
    }
    if (!entry?.compiled) {
      stats.interpreted++;
      return jsExecute(args);
    }
    stats.compiled++;
    const result = entry.compiled.query(undefined, args.contextValue, args.variableValues ?? {});
    // No data: the variables were refused before execution. graphql-js words that differently;
    // its answer (nothing runs) is the one clients know.
    if (!isPromise(result) && result.data === undefined) return jsExecute(args);
    return isPromise(result)
      ? result.then((r) => likeGraphqlJs(r, args.document))
      : likeGraphqlJs(result, args.document);
  }
  return Object.assign(execute, { stats });
}

const isQueryOrMutation = (args: ExecutionArgs) =>
  getOperationAST(args.document, args.operationName)?.operation !== 'subscription';

const isPromise = <T>(value: T | Promise<T>): value is Promise<T> =>
  typeof (value as Promise<T>)?.then === 'function';

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
        else if (isAbstractType(type) && schema.getPossibleTypes(type).some((t) => t.isTypeOf))
          found = true;
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
    (e) =>
      new GraphQLError(e.message, {
        nodes: nodesAt(document, e.locations),
        path: e.path,
        originalError: e.originalError ?? undefined,
        extensions: e.extensions,
      }),
  );
  const { data, extensions } = result;
  return extensions ? { errors, data, extensions } : { errors, data };
}

const nodesByLocation = new WeakMap<DocumentNode, Map<string, ASTNode>>();

/** The document's nodes at these locations (the outermost node starting at each). */
function nodesAt(
  document: DocumentNode,
  locations: readonly { line: number; column: number }[] | undefined,
): ASTNode[] | undefined {
  if (!locations?.length) return undefined;
  let map = nodesByLocation.get(document);
  if (!map) {
    const nodes = new Map<string, ASTNode>();
    visit(document, {
      enter(node) {
        if (!node.loc) return;
        const { line, column } = getLocation(node.loc.source, node.loc.start);
        if (!nodes.has(`${line}:${column}`)) nodes.set(`${line}:${column}`, node);
      },
    });
    nodesByLocation.set(document, (map = nodes));
  }
  const found = locations
    .map((l) => map.get(`${l.line}:${l.column}`))
    .filter((n): n is ASTNode => n !== undefined);
  return found.length ? found : undefined;
}
