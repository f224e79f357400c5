// graphql-armor limits through HTTP: depth, aliases, tokens and directives are refused before
// anything runs; field suggestions are hidden from callers without a key; introspection can be off.
import { createTestApp, type TestApp } from './support/app';

let app: TestApp;
let closed: TestApp;

beforeAll(async () => {
  app = await createTestApp({
    EVALGRAPH_MAX_DEPTH: '6',
    EVALGRAPH_MAX_ALIASES: '3',
    EVALGRAPH_MAX_TOKENS: '200',
    EVALGRAPH_MAX_DIRECTIVES: '3',
  });
  closed = await createTestApp({ EVALGRAPH_INTROSPECTION: 'false' });
});
afterAll(async () => {
  await app.close();
  await closed.close();
});

describe('abuse limits', () => {
  it('refuse a document nested deeper than the limit', async () => {
    // viewer > apiKeys > edges > node > user > apiKeys > edges > node > id: depth 9
    const deep =
      '{ viewer { apiKeys { edges { node { user { apiKeys { edges { node { id } } } } } } } } }';
    const res = await app.gql(deep);
    expect(res.body.data ?? null).toBeNull();
    expect(res.body.errors![0].message).toMatch(/depth limit of 6/);
    expect(res.body.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    expect(
      (await app.gql('{ viewer { apiKeys { edges { node { id } } } } }')).body.errors,
    ).toBeUndefined();
  });

  it('refuse too many aliases, tokens or directives', async () => {
    const aliases = await app.gql(
      '{ a: viewer { id } b: viewer { id } c: viewer { id } d: viewer { id } }',
    );
    expect(aliases.body.errors![0].message).toMatch(/Aliases limit of 3/);
    const tokens = await app.gql(`{ viewer { ${'id '.repeat(250)} } }`);
    expect(tokens.body.errors![0].message).toMatch(/Token limit of 200/);
    const directives = await app.gql(
      '{ viewer { id @include(if: true) @include(if: true) @include(if: true) @include(if: true) } }',
    );
    expect(directives.body.errors![0].message).toMatch(/Directives limit of 3/);
  });

  it('hide field suggestions from callers without a valid key, not from those with one', async () => {
    const anonymous = await app.gql('{ viewr { id } }', {}, { key: null });
    expect(anonymous.body.errors![0].message).not.toContain('Did you mean');
    expect(anonymous.body.errors![0].message).toContain('[Suggestion hidden]');
    const madeUp = await app.gql(
      '{ viewr { id } }',
      {},
      { key: 'evg_made_up_0000000000000000000000000000' },
    );
    // A bad key is refused before the document is even looked at.
    expect(madeUp.status).toBe(401);
    expect(madeUp.body.errors![0].message).not.toContain('viewer');
    const keyed = await app.gql('{ viewr { id } }');
    expect(keyed.body.errors![0].message).toContain('Did you mean "viewer"?');
  });

  it('introspection is on by default and can be turned off', async () => {
    expect(
      (await app.gql('{ __schema { queryType { name } } }')).body.data.__schema.queryType.name,
    ).toBe('Query');
    const off = await closed.gql('{ __schema { queryType { name } } }');
    expect(off.body.errors![0].message).toMatch(/introspection/i);
    expect((await closed.gql('{ viewer { id } }')).body.errors).toBeUndefined();
  });
});
