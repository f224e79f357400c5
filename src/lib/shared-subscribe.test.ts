import { execute, GraphQLObjectType, GraphQLSchema, GraphQLString, parse } from 'graphql';
import { createChannel } from './channel';
import { createSharedSubscribe, Feed } from './shared-subscribe';

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
  let executions = 0;
  const subscribe = createSharedSubscribe(execute, {
    keyOf: (ctx) => (ctx as { key: string }).key,
    pushed: (ctx) => (ctx as { pushed?: boolean }).pushed === true,
    executed: () => executions++,
  });
  const document = parse('subscription { events { n } }');
  const open = (key: string) =>
    subscribe({ schema, document, contextValue: { key } }) as Promise<AsyncIterableIterator<any>>;
  const feed = (key: string) =>
    subscribe({ schema, document, contextValue: { key, pushed: true } }) as Promise<Feed>;
  return {
    channels,
    open,
    feed,
    resolved: () => resolved,
    executions: () => executions,
    groups: subscribe.groups,
  };
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

  it('a pushed subscription is a Feed; a group of them executes an event once and ends with its last member', async () => {
    const { channels, feed, resolved, executions, groups } = setup();
    const [a, b, c] = [await feed('k1'), await feed('k1'), await feed('k2')];
    expect(a).toBeInstanceOf(Feed);
    expect(groups()).toBe(2);
    const event = { n: 'one' };
    expect(await a.result(event)).toEqual({ data: { events: { n: 'one' } } });
    // The same result object for the other member: serialized once by the transport.
    expect(await b.result(event)).toBe(await a.result(event));
    await c.result(event);
    expect([resolved(), executions()]).toEqual([2, 2]);
    // The first member leaves: the group goes on with its arguments for the others.
    a.leave();
    a.leave();
    expect(groups()).toBe(2);
    expect(await b.result({ n: 'two' })).toEqual({ data: { events: { n: 'two' } } });
    b.leave();
    c.leave();
    expect(groups()).toBe(0);
    expect(channels).toHaveLength(3);
  });
});
