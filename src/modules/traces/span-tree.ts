// Spans arrive flat, each naming its parent by id; a trace view wants them as a tree.

export interface TreeSpan {
  externalId: string;
  parentExternalId: string | null;
}

/**
 * Roots and each span's children, in the given order. A span whose parent is missing from the
 * list (not sent yet, or lost) is a root, so no span disappears from the tree; so is a span
 * caught in a parent cycle.
 */
export function buildSpanTree<S extends TreeSpan>(spans: readonly S[]) {
  const byId = new Map(spans.map((span) => [span.externalId, span]));
  const children = new Map<S, S[]>(spans.map((span) => [span, []]));
  const roots: S[] = [];
  for (const span of spans) {
    const parent = span.parentExternalId === null ? undefined : byId.get(span.parentExternalId);
    if (parent && parent !== span && !isAncestor(span, parent, byId))
      children.get(parent)!.push(span);
    else roots.push(span);
  }
  return { roots, children };
}

// True when `span` is above `candidate` in the parent chain (linking them would close a cycle).
function isAncestor<S extends TreeSpan>(span: S, candidate: S, byId: Map<string, S>): boolean {
  const seen = new Set<S>();
  for (
    let node: S | undefined = candidate;
    node;
    node = node.parentExternalId === null ? undefined : byId.get(node.parentExternalId)
  ) {
    if (node === span) return true;
    if (seen.has(node)) return false;
    seen.add(node);
  }
  return false;
}
