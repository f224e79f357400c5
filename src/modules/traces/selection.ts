// Which fields of each type an operation selects, anywhere in it (fragments and aliases included),
// so that trace and span reads fetch only those columns. Computed once per operation.
import {
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';

const cache = new WeakMap<object, Map<string, Set<string>>>();

/** Field names selected on each object type, by type name. */
export function selectedFields(info: GraphQLResolveInfo): Map<string, Set<string>> {
  const cached = cache.get(info.operation);
  if (cached) return cached;
  const byType = new Map<string, Set<string>>();
  const typeInfo = new TypeInfo(info.schema);
  const document: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [info.operation, ...Object.values(info.fragments)],
  };
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (!parent) return;
        let fields = byType.get(parent.name);
        if (!fields) byType.set(parent.name, (fields = new Set()));
        fields.add(node.name.value);
      },
    }),
  );
  cache.set(info.operation, byType);
  return byType;
}

/**
 * Names of the fields selected under the resolving field (fragments included), whatever their
 * type: for a field whose subtree has one field of each name that matters (metrics' `cost`), and
 * which another root field of the operation must not sway as selectedFields' would.
 */
export function selectedBelow(info: GraphQLResolveInfo): Set<string> {
  const names = new Set<string>();
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode | undefined) => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        names.add(selection.name.value);
        walk(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        walk(info.fragments[selection.name.value]?.selectionSet);
      }
    }
  };
  for (const node of info.fieldNodes) walk(node.selectionSet);
  return names;
}
