// Which fields of each type an operation selects, anywhere in it (fragments and aliases included),
// so that trace and span reads fetch only those columns. Computed once per operation.
import {
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLResolveInfo,
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
