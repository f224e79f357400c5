import { buildSchema, parse } from 'graphql';
import { pageSizeError } from './page-size';

const schema = buildSchema(`
  type Query { projects(first: Int, last: Int, after: String): ProjectConnection!, node(id: ID!): Node, list(first: String): [Int!]! }
  interface Node { id: ID! }
  type Project implements Node { id: ID!, members(first: Int, last: Int): MemberConnection! }
  type ProjectConnection { edges: [ProjectEdge!]! }
  type ProjectEdge { node: Project! }
  type MemberConnection { totalCount: Int! }
`);

const check = (query: string, variables?: Record<string, unknown>, operationName?: string) =>
  pageSizeError(schema, parse(query), variables, operationName);

describe('pageSizeError', () => {
  it('accepts 1 to 100, and no first/last at all', () => {
    expect(check('{ projects(first: 1) { edges { node { id } } } }')).toBeNull();
    expect(check('{ projects(last: 100) { edges { node { id } } } }')).toBeNull();
    expect(check('{ projects { edges { node { id } } } }')).toBeNull();
    expect(check('{ projects(first: null) { edges { node { id } } } }')).toBeNull();
  });

  it('refuses first or last outside 1..100 naming the field, the argument and the limit', () => {
    const error = check('{ projects(first: 99999999) { edges { node { id } } } }')!;
    expect(error.message).toBe('projects: first must be between 1 and 100 (it was 99999999).');
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', path: ['first'], limit: 100 });
    expect(error.locations).toEqual([{ line: 1, column: 12 }]);
    expect(check('{ projects(first: 0) { edges { node { id } } } }')!.message).toMatch(
      /first must be between 1 and 100 \(it was 0\)/,
    );
    expect(check('{ projects(last: 101) { edges { node { id } } } }')!.message).toMatch(
      /last must be between 1 and 100 \(it was 101\)/,
    );
    expect(check('{ projects(first: -5) { edges { node { id } } } }')!.extensions.path).toEqual([
      'first',
    ]);
  });

  it('reads variables, nested connections, fragments and inline fragments on interfaces', () => {
    expect(
      check('query($n: Int) { projects(first: $n) { edges { node { id } } } }', { n: 101 })!
        .message,
    ).toMatch(/it was 101/);
    expect(
      check('query($n: Int) { projects(first: $n) { edges { node { id } } } }', { n: 100 }),
    ).toBeNull();
    expect(
      check('query($n: Int = 500) { projects(first: $n) { edges { node { id } } } }')!.message,
    ).toMatch(/it was 500/);
    expect(
      check('{ projects(first: 5) { edges { node { members(first: 1000) { totalCount } } } } }')!
        .message,
    ).toBe('members: first must be between 1 and 100 (it was 1000).');
    expect(
      check(
        '{ projects(first: 5) { edges { node { ...P } } } } fragment P on Project { members(last: 0) { totalCount } }',
      )!.message,
    ).toMatch(/members: last/);
    expect(
      check('{ node(id: "x") { ... on Project { members(first: 101) { totalCount } } } }')!.message,
    ).toMatch(/members: first/);
  });

  it('looks only at the operation that runs, and leaves bad variables to execution', () => {
    const doc =
      'query A { projects(first: 5) { edges { node { id } } } } query B { projects(first: 500) { edges { node { id } } } }';
    expect(check(doc, {}, 'A')).toBeNull();
    expect(check(doc, {}, 'B')).not.toBeNull();
    expect(
      check('query($n: Int) { projects(first: $n) { edges { node { id } } } }', { n: 'many' }),
    ).toBeNull();
    // A `first` that is not a page size (not an Int) is not ours to judge.
    expect(check('{ list(first: "0") }')).toBeNull();
  });
});
