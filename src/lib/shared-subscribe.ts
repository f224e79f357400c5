// A `subscribe` for Yoga's engine that executes each event once per API key and operation instead
// of once per subscriber: the progress hub hands the same snapshot object to every watcher of an
// evaluation, so thousands of clients watching one evaluation with the same document cost one
// execution per key, not one each. Results are shared only between subscriptions of the same key
// and access (auth/permissions.ts accessKey: the same authorization), document, operation and variables.
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

/**
 * One subscription's events, each executed once per operation key (`key` null: its own). A class:
 * thousands are open at once, and methods on the prototype cost nothing per subscription (a
 * closure per method would, more so under tsx's keepNames: see lib/channel.ts).
 */
class SharedStream implements AsyncIterableIterator<ExecutionResult> {
  constructor(
    private readonly iterator: AsyncIterator<unknown>,
    private readonly args: ExecutionArgs,
    private readonly key: string | null,
    private readonly execute: Execute,
    private readonly results: Results,
  ) {}

  private run(payload: unknown) {
    const { args, key } = this;
    if (key === null || typeof payload !== 'object' || payload === null)
      return this.execute({ ...args, rootValue: payload });
    let byOperation = this.results.get(payload);
    if (!byOperation) this.results.set(payload, (byOperation = new Map()));
    let result = byOperation.get(key);
    if (!result) byOperation.set(key, (result = this.execute({ ...args, rootValue: payload })));
    return result;
  }

  // An explicit iterator, not an async generator: a client that stops must end the source at
  // once, not when its next event comes.
  async next(): Promise<IteratorResult<ExecutionResult>> {
    const next = await this.iterator.next();
    return next.done
      ? { done: true, value: undefined }
      : { done: false, value: await this.run(next.value) };
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

/** `keyOf(context)`: who the result is for (subscriptions with equal keys may share results). */
export function createSharedSubscribe(
  execute: Execute,
  keyOf: (context: unknown) => string | null,
) {
  // event payload → operation key → its result (dropped with the payload)
  const results: Results = new WeakMap();
  const documentIds = new WeakMap<DocumentNode, number>();
  let nextDocumentId = 0;

  function operationKey(args: ExecutionArgs): string | null {
    const who = keyOf(args.contextValue);
    if (who === null) return null;
    let documentId = documentIds.get(args.document);
    if (documentId === undefined) documentIds.set(args.document, (documentId = nextDocumentId++));
    return `${who}\u0000${documentId}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`;
  }

  return async function subscribe(args: ExecutionArgs) {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    return new SharedStream(
      source[Symbol.asyncIterator](),
      args,
      operationKey(args),
      execute,
      results,
    );
  };
}
