// A `subscribe` for Yoga's engine that executes each event once per API key and operation instead
// of once per subscriber: the progress hub hands the same snapshot object to every watcher of an
// evaluation, so thousands of clients watching one evaluation with the same document cost one
// execution per key, not one each. Results are shared only between subscriptions of the same key
// and access (auth/permissions.ts accessKey: the same authorization), document, operation and
// variables: such subscriptions form a group, executed with the first member's arguments.
//
// Two ways out. Over HTTP (SSE) each subscription is an async iterator, as envelop and Yoga expect.
// A transport that pushes (`pushed(context)`: the WebSocket server, ws.ts) gets a Feed instead: the
// subscription's source and its group, nothing else. The plugins that act per event hand the feed
// what they do (`charge`: the rate limit; `meter`: the Prometheus layer) rather than wrapping the
// stream in envelop's iterators, and the transport takes the source's values pushed to it (its
// Channel's sink): a thousand idle subscribers of one group hold a feed, a sink and a channel
// each, and no context, promise or iterator chain of their own.
import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';

type Execute = (args: ExecutionArgs) => ExecutionResult | Promise<ExecutionResult>;

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  typeof (value as AsyncIterable<unknown>)?.[Symbol.asyncIterator] === 'function';

type Results = WeakMap<object, Map<string, ExecutionResult | Promise<ExecutionResult>>>;

/** Subscriptions that share results: their arguments (the first member's) and how many are open. */
class Group {
  members = 0;
  constructor(
    readonly key: string | null,
    readonly args: ExecutionArgs,
  ) {}
}

/** What a per-event plugin does for one pushed subscription (use-rate-limit.ts). */
export interface EventCharge {
  /** What the subscriber is sent for `result`: itself, or another result (the event withheld). */
  pay(result: ExecutionResult): ExecutionResult | Promise<ExecutionResult>;
}

/** The Prometheus layer's per-subscription hooks (use-prometheus.ts). */
export interface EventMeter {
  event(result: ExecutionResult): void;
  end(): void;
}

/**
 * One pushed subscription (a WebSocket operation): its source of events and its group. A class:
 * thousands are open at once, and methods cost nothing per instance (lib/channel.ts).
 */
export class Feed {
  charge: EventCharge | null = null;
  meter: EventMeter | null = null;
  private left = false;
  constructor(
    /** The resolver's stream (a Channel for all of ours). */
    readonly source: AsyncIterator<unknown>,
    private readonly group: Group,
    private readonly shared: Shared,
  ) {}

  /** The result of an event for this subscription's group (executed once per group). */
  result(payload: unknown): ExecutionResult | Promise<ExecutionResult> {
    return this.shared.run(this.group, payload);
  }

  /** The subscriber has gone: the group forgets it (and ends with its last member). */
  leave() {
    if (this.left) return;
    this.left = true;
    this.meter?.end();
    this.shared.leave(this.group);
  }
}

/** Groups by operation key, and each event's result per group (dropped with the event). */
class Shared {
  private readonly results: Results = new WeakMap();
  private readonly groups = new Map<string, Group>();
  constructor(
    private readonly execute: Execute,
    private readonly executed: () => void,
  ) {}

  join(key: string | null, args: ExecutionArgs): Group {
    let group = key === null ? undefined : this.groups.get(key);
    if (!group) {
      group = new Group(key, args);
      if (key !== null) this.groups.set(key, group);
    }
    group.members++;
    return group;
  }

  leave(group: Group) {
    if (--group.members > 0 || group.key === null) return;
    if (this.groups.get(group.key) === group) this.groups.delete(group.key);
  }

  run(group: Group, payload: unknown) {
    const { args, key } = group;
    if (key === null || typeof payload !== 'object' || payload === null) {
      this.executed();
      return this.execute({ ...args, rootValue: payload });
    }
    let byGroup = this.results.get(payload);
    if (!byGroup) this.results.set(payload, (byGroup = new Map()));
    let result = byGroup.get(key);
    if (!result) {
      this.executed();
      byGroup.set(key, (result = this.execute({ ...args, rootValue: payload })));
    }
    return result;
  }

  /** Open groups (tests). */
  size() {
    return this.groups.size;
  }
}

/**
 * One subscription's events as an async iterator (HTTP), each executed once per group. The
 * group's member count is not kept: over HTTP the group lives as long as its results are shared.
 */
class SharedStream implements AsyncIterableIterator<ExecutionResult> {
  constructor(
    private readonly iterator: AsyncIterator<unknown>,
    private readonly group: Group,
    private readonly shared: Shared,
  ) {}

  // An explicit iterator, not an async generator: a client that stops must end the source at
  // once, not when its next event comes.
  async next(): Promise<IteratorResult<ExecutionResult>> {
    const next = await this.iterator.next();
    return next.done
      ? { done: true, value: undefined }
      : { done: false, value: await this.shared.run(this.group, next.value) };
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.iterator.return?.();
    return { done: true, value: undefined };
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.iterator.return?.();
    throw error;
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

export interface SharedSubscribeOptions {
  /** Who the result is for: subscriptions with equal keys may share results (null: never). */
  keyOf(context: unknown): string | null;
  /** The transport takes a Feed, not an iterator (ws.ts). */
  pushed?(context: unknown): boolean;
  /** Called for each execution of an event (a metric). */
  executed?(): void;
}

export function createSharedSubscribe(execute: Execute, options: SharedSubscribeOptions) {
  const { keyOf, pushed = () => false } = options;
  const shared = new Shared(execute, options.executed ?? (() => {}));
  const documentIds = new WeakMap<DocumentNode, number>();
  let nextDocumentId = 0;

  function operationKey(args: ExecutionArgs): string | null {
    const who = keyOf(args.contextValue);
    if (who === null) return null;
    let documentId = documentIds.get(args.document);
    if (documentId === undefined) documentIds.set(args.document, (documentId = nextDocumentId++));
    return `${who}\u0000${documentId}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`;
  }

  async function subscribe(args: ExecutionArgs) {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    const key = operationKey(args);
    const iterator = source[Symbol.asyncIterator]();
    if (pushed(args.contextValue)) return new Feed(iterator, shared.join(key, args), shared);
    // Over HTTP the group is not counted (its results live as long as the event): its own args.
    return new SharedStream(iterator, new Group(key, args), shared);
  }
  return Object.assign(subscribe, { groups: () => shared.size() });
}
