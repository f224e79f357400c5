import {
  buildSchema,
  execute as jsExecute,
  type GraphQLObjectType,
  parse,
  type GraphQLSchema,
} from 'graphql';
import { createJitExecute } from './jit-execute';

function schema(): GraphQLSchema {
  const s = buildSchema(`
    type Query { items(n: Int!): [Item!]!  secret: Secret  fail: Int }
    type Mutation { touch: Int }
    type Item { id: ID!  label(upper: Boolean): String }
    type Secret { value: String }
  `);
  const query = s.getQueryType()!.getFields();
  query.items.resolve = (_r, { n }) => Array.from({ length: n }, (_v, i) => ({ id: String(i) }));
  query.secret.resolve = () => ({ value: 'hidden' });
  query.fail.resolve = () => {
    throw new Error('boom');
  };
  s.getMutationType()!.getFields().touch.resolve = () => 1;
  const item = s.getType('Item') as GraphQLObjectType;
  item.getFields().label.resolve = (row: { id: string }, { upper }) =>
    upper ? `ITEM ${row.id}` : `item ${row.id}`;
  // A type scope in the way Pothos' scope-auth puts one: isTypeOf reading the context.
  (s.getType('Secret') as GraphQLObjectType).isTypeOf = (_v, ctx: { allowed?: boolean }) =>
    ctx.allowed === true;
  return s;
}

describe('createJitExecute', () => {
  it('compiles a query from its second run and answers exactly as graphql-js does', async () => {
    const s = schema();
    const execute = createJitExecute(s);
    const document = parse(
      'query($n: Int!, $u: Boolean) { items(n: $n) { id label(upper: $u) } fail }',
    );
    const args = { schema: s, document, variableValues: { n: 3, u: true }, contextValue: {} };
    const expected = JSON.stringify(await jsExecute(args));
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(JSON.stringify(await execute(args)));
    expect(answers).toEqual([expected, expected, expected]);
    expect(JSON.parse(expected).errors[0].message).toBe('boom');
    expect(execute.stats).toEqual({ interpreted: 1, compiled: 2 });
  });

  it('reports a bad variable as graphql-js does', async () => {
    const s = schema();
    const execute = createJitExecute(s);
    const args = {
      schema: s,
      document: parse('query($n: Int!) { items(n: $n) { id } }'),
      variableValues: { n: 'x' },
      contextValue: {},
    };
    const expected = JSON.stringify(await jsExecute(args));
    expect(JSON.parse(expected).errors[0].locations).toEqual([{ line: 1, column: 7 }]);
    for (let i = 0; i < 3; i++) expect(JSON.stringify(await execute(args))).toBe(expected);
  });

  it('keeps documents that reach a context-checked isTypeOf on graphql-js; compiles mutations', async () => {
    const s = schema();
    const execute = createJitExecute(s);
    const secret = parse('{ secret { value } }');
    for (let i = 0; i < 3; i++) {
      const res = await execute({ schema: s, document: secret, contextValue: { allowed: false } });
      expect(res).toMatchObject({
        data: { secret: null },
        errors: [
          expect.objectContaining({
            message: expect.stringContaining('Expected value of type "Secret"'),
          }),
        ],
      });
    }
    const mutation = parse('mutation { touch }');
    for (let i = 0; i < 3; i++)
      expect(await execute({ schema: s, document: mutation, contextValue: {} })).toEqual({
        data: { touch: 1 },
      });
    expect(execute.stats).toEqual({ interpreted: 4, compiled: 2 });
  });
});
