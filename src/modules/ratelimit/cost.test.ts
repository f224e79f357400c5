import { buildSchema, parse, type GraphQLSchema } from 'graphql';
import { actualCost } from './actual-cost';
import { requestedCost } from './cost';

const schema: GraphQLSchema = buildSchema(`
  type Query { projects(first: Int, last: Int): ProjectConnection  project(id: ID!): Project  stats: Stats  node(id: ID!): Node  nodes(ids: [ID!]!): [Node]! }
  type Mutation { ingest(spans: [String!]!): Int  rename(name: String): Project }
  interface Node { id: ID! }
  type ProjectConnection { edges: [ProjectEdge!]!  pageInfo: PageInfo!  totalCount: Int }
  type ProjectEdge { cursor: String!  node: Project! }
  type PageInfo { hasNextPage: Boolean! }
  type Project implements Node { id: ID!  name: String  traces(first: Int): TraceConnection  tags: [String!]  owner: Span }
  type TraceConnection { edges: [TraceEdge!]!  nodes: [Trace!]! }
  type TraceEdge { node: Trace! }
  type Trace implements Node { id: ID!  name: String  spans: [Span!]! }
  type Span { id: ID! }
  type Stats { total: Int }
`);
// Declared costs, as modules declare them in Pothos' `extensions`.
Object.assign(schema.getQueryType()!.getFields().stats, { extensions: { cost: 50 } });
Object.assign(schema.getMutationType()!.getFields().ingest, {
  extensions: { cost: (args: { spans: string[] }) => Math.ceil(args.spans.length / 10) },
});
Object.assign((schema.getType('Trace') as any).getFields().spans, { extensions: { listSize: 5 } });
Object.assign(schema.getQueryType()!.getFields().nodes, {
  extensions: { listSize: (args: { ids: string[] }) => args.ids.length },
});

const cost = (query: string, variables?: Record<string, unknown>) =>
  requestedCost(schema, parse(query), variables);

describe('requested cost', () => {
  it('scalars 0, objects 1, connections by first (per node; edges free), lists by their size', () => {
    // projects 1 + 5 × (node 1 + traces [1 + 3 × (node 1 + spans 5 × 1)]) = 1 + 5 × (1 + 1 + 3 × 6) = 101
    expect(
      cost(
        '{ projects(first: 5) { edges { node { name traces(first: 3) { edges { node { name spans { id } } } } } } } }',
      ),
    ).toBe(101);
    // defaults: 20 per page; nodes like edges; pageInfo an object; totalCount a scalar
    expect(
      cost('{ projects { totalCount pageInfo { hasNextPage } nodes: edges { cursor } } }'),
    ).toBe(1 + 1 + 0);
    // first above the maximum counts as 100
    expect(cost('{ projects(first: 1000) { edges { node { id } } } }')).toBe(1 + 100);
    expect(cost('{ project(id: "1") { traces(first: 2) { nodes { id } } } }')).toBe(1 + 1 + 2);
  });

  it('counts fragments, inline fragments, aliases and variables as written', () => {
    const query = `query($n: Int) { a: projects(first: $n) { ...P } b: projects(last: 2) { edges { node { ... on Project { id } } } } }
      fragment P on ProjectConnection { edges { node { id tags } } }`;
    // a: 1 + 4 × 1; b: 1 + 2 × 1
    expect(cost(query, { n: 4 })).toBe(5 + 3);
    // An interface: the fragment's fields are counted (upper bound).
    expect(cost('{ node(id: "1") { id ... on Trace { spans { id } } } }')).toBe(1 + 5);
  });

  it('declared costs: a number, a function of the arguments; a mutation costs at least 10; introspection nothing', () => {
    expect(cost('{ stats { total } }')).toBe(51);
    expect(
      cost('mutation($s: [String!]!) { ingest(spans: $s) }', { s: Array(250).fill('x') }),
    ).toBe(25);
    expect(cost('mutation { ingest(spans: ["x"]) }')).toBe(10);
    expect(cost('mutation { rename(name: "x") { id } }')).toBe(10);
    expect(cost('{ __schema { types { name fields { name } } } __typename }')).toBe(0);
  });
});

describe('requested cost, the hard cases', () => {
  it("uses a variable's own default when the variable is not sent", () => {
    expect(cost('query($n: Int = 100) { projects(first: $n) { edges { node { id } } } }')).toBe(
      1 + 100,
    );
    expect(
      cost('query($n: Int = 100) { projects(first: $n) { edges { node { id } } } }', { n: 3 }),
    ).toBe(1 + 3);
  });

  it('sizes a list by its arguments when it declares so (nodes(ids))', () => {
    expect(
      cost('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: Array(400).fill('x') }),
    ).toBe(400);
  });

  it('counts variables as sent (not coerced twice); a length that is not a count counts nothing', () => {
    // A single ID where a list is expected: execution reads it as one; here it is a text's length
    // (an over-count, never an under-count that matters: at most the one item).
    expect(cost('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: 'abc' })).toBe(3);
    // Hostile shapes (execution refuses them) must not make the cost NaN, negative or infinite.
    for (const ids of [{ length: 'x' }, { length: -5 }, { length: Number.POSITIVE_INFINITY }, null])
      expect(cost('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids })).toBe(0);
    expect(
      cost('mutation($s: [String!]!) { ingest(spans: $s) }', { s: { length: Number.NaN } }),
    ).toBe(10);
  });

  it('plans a fragment spread many times once (no blow-up on fragment bombs)', () => {
    const levels = 8;
    const fragments = Array.from({ length: levels }, (_, i) =>
      i === levels - 1
        ? `fragment F${i} on Project { name }`
        : `fragment F${i} on Project { ${Array.from({ length: 10 }, (_, j) => `a${j}: owner { id } ...F${i + 1} ...F${i + 1}`).join(' ')} }`,
    ).join('\n');
    // Each level: 10 owner objects, and the next level's fragment once (spreading it again adds nothing).
    expect(cost(`{ project(id: "1") { ...F0 } }\n${fragments}`)).toBe(1 + 10 * (levels - 1));
  });
});

describe('actual cost', () => {
  it('counts the objects returned: real list lengths, nulls free', () => {
    const query =
      '{ projects(first: 5) { edges { node { name traces(first: 3) { edges { node { spans { id } } } } } } } }';
    const data = {
      projects: {
        edges: [
          {
            node: {
              name: 'a',
              traces: { edges: [{ node: { spans: [{ id: '1' }, { id: '2' }] } }] },
            },
          },
          { node: { name: 'b', traces: null } },
        ],
      },
    };
    // projects 1 + node a (1 + traces 1 + trace 1 + 2 spans) + node b (1)
    expect(actualCost(schema, parse(query), {}, null, data)).toBe(1 + (1 + 1 + 1 + 2) + 1);
    expect(
      actualCost(
        schema,
        parse('{ a: project(id: "1") { id } b: project(id: "2") { id } }'),
        {},
        null,
        { a: { id: '1' }, b: null },
      ),
    ).toBe(1);
  });
});
