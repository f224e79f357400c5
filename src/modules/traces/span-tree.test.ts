import { buildSpanTree } from './span-tree';

const span = (externalId: string, parentExternalId: string | null = null) => ({
  externalId,
  parentExternalId,
});

describe('buildSpanTree', () => {
  it('nests children under parents in the given order', () => {
    const spans = [span('root'), span('a', 'root'), span('b', 'root'), span('a1', 'a')];
    const { roots, children } = buildSpanTree(spans);
    expect(roots.map((s) => s.externalId)).toEqual(['root']);
    expect(children.get(spans[0])!.map((s) => s.externalId)).toEqual(['a', 'b']);
    expect(children.get(spans[1])!.map((s) => s.externalId)).toEqual(['a1']);
    expect(children.get(spans[3])).toEqual([]);
  });

  it('makes a span whose parent is missing a root, so nothing is lost', () => {
    const { roots } = buildSpanTree([span('x', 'not-sent'), span('y')]);
    expect(roots.map((s) => s.externalId)).toEqual(['x', 'y']);
  });

  it('breaks parent cycles instead of dropping the spans', () => {
    const spans = [span('a', 'b'), span('b', 'a'), span('c', 'c')];
    const { roots, children } = buildSpanTree(spans);
    const all = [...roots, ...[...children.values()].flat()].map((s) => s.externalId).sort();
    expect(all).toEqual(['a', 'b', 'c']);
    expect(roots.length).toBeGreaterThanOrEqual(2);
  });
});
