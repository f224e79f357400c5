import { execute, GraphQLObjectType, GraphQLSchema, GraphQLString, parse } from 'graphql';
import { createChannel } from './channel';
import { createSharedSubscribe } from './shared-subscribe';

function setup() {
  const channels: ReturnType<typeof createChannel<{ n: string }>>[] = [];
  let resolved = 0;
  const Event = new GraphQLObjectType({
    name: 'Event',
    fields: { n: { type: GraphQLString, resolve: (e: { n: string }) => (resolved++, e.n) } },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { x: { type: GraphQLString } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        events: {
          type: Event,
          subscribe: () => channels[channels.push(createChannel<{ n: string }>()) - 1],
          resolve: (e) => e,
        },
      },
    }),
  });
  const subscribe = createSharedSubscribe(execute, (ctx) => (ctx as { key: string }).key);
  const document = parse('subscription { events { n } }');
  const open = (key: string) =>
    subscribe({ schema, document, contextValue: { key } }) as Promise<AsyncIterableIterator<any>>;
  return { channels, open, resolved: () => resolved };
}

describe('createSharedSubscribe', () => {
  it('executes an event once for the subscriptions of one key, apart for another key', async () => {
    const { channels, open, resolved } = setup();
    const [a, b, c] = [await open('k1'), await open('k1'), await open('k2')];
    const event = { n: 'one' };
    for (const ch of channels) ch.push(event);
    const results = await Promise.all([a.next(), b.next(), c.next()]);
    expect(results.map((r) => r.value)).toEqual([
      { data: { events: { n: 'one' } } },
      { data: { events: { n: 'one' } } },
      { data: { events: { n: 'one' } } },
    ]);
    expect(resolved()).toBe(2);
  });

  it('return() ends the source at once, without waiting for an event', async () => {
    const { channels, open } = setup();
    const it = await open('k1');
    const pending = it.next();
    await it.return!();
    expect(channels[0].closed).toBe(true);
    expect(await pending).toEqual({ done: true, value: undefined });
  });
});
