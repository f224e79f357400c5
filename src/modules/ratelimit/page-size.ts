// Connection pages are 1 to MAX_PAGE items: a `first` or `last` outside that range is refused
// (GitHub's behaviour), not clamped, on every field that takes them, whoever defined it (Relay,
// Prisma or hand-written connections). Checked on the operation with its variables before it
// runs, so a refused operation is never costed, charged or executed. Pure.
import {
  getOperationAST,
  GraphQLError,
  separateOperations,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  BREAK,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import { getArgumentValues, getVariableValues } from 'graphql/execution/values';
import { MAX_PAGE } from '../../lib/pages';

const PAGE_ARGS = ['first', 'last'] as const;

/** The first `first`/`last` out of 1..max in the operation (fragments included), as a BAD_USER_INPUT error; null when there is none. */
export function pageSizeError(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
  operationName?: string | null,
  max = MAX_PAGE,
): GraphQLError | null {
  const operation = getOperationAST(document, operationName);
  if (!operation) return null;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
  if (coerced.errors) return null; // execution refuses the variables itself
  // Only this operation and the fragments it spreads (another operation's may use other variables).
  const own =
    document.definitions.filter((d) => d.kind === 'OperationDefinition').length > 1
      ? separateOperations(document)[operation.name?.value ?? '']
      : document;
  if (!own) return null;
  const typeInfo = new TypeInfo(schema);
  let error: GraphQLError | null = null;
  visit(
    own,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const field = typeInfo.getFieldDef();
        if (!field?.args.some((a) => a.name === 'first' || a.name === 'last')) return;
        let args: Record<string, unknown>;
        try {
          args = getArgumentValues(field, node, coerced.coerced);
        } catch {
          return; // execution reports bad arguments
        }
        for (const name of PAGE_ARGS) {
          const value = args[name];
          if (typeof value !== 'number' || (value >= 1 && value <= max)) continue;
          const argument = node.arguments?.find((a) => a.name.value === name);
          error = new GraphQLError(
            `${field.name}: ${name} must be between 1 and ${max} (it was ${value}).`,
            {
              nodes: argument ?? node,
              extensions: { code: 'BAD_USER_INPUT', path: [name], field: field.name, limit: max },
            },
          );
          return BREAK;
        }
      },
    }),
  );
  return error;
}
