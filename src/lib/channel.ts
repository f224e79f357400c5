// An async iterator fed by a producer, for subscription streams. What it holds for a reader that
// has not caught up is decided by `keep`: the newest value only (progress: a slow reader skips to
// the latest state), or a bounded queue. Memory per reader is bounded either way. A reader may
// also take values pushed to it (`listen`): the WebSocket transport does, so an idle subscriber
// holds no pending promise or suspended loop, only its sink.

export interface Channel<T> extends AsyncIterableIterator<T> {
  push(value: T): void;
  /** Ends the stream once the values held are taken. */
  end(): void;
  /** Adds a callback for when the reader stops or the stream has ended (at once if it has). */
  onClose(fn: () => void): void;
  readonly closed: boolean;
}

/** A reader that takes values pushed to it (Channel.listen), one at a time. */
export interface ChannelSink<T> {
  /** The next value; the channel holds those that follow (as `keep` says) until `ready()`. */
  take(value: T): void;
  /** The stream has ended or the reader was stopped (`return`): called once. */
  end(): void;
}

/** A channel whose reader may also be a sink (lib/shared-subscribe.ts Feed, ws-transport.ts). */
export interface ListenableChannel<T> extends Channel<T> {
  /** Pushes values to `sink` from now on instead of through `next()`. */
  listen(sink: ChannelSink<T>): void;
  /** The sink is done with the value it was given: the next one held (or the end) follows. */
  ready(): void;
}

export const isListenable = (value: unknown): value is ListenableChannel<unknown> =>
  value instanceof ChannelOf;

export interface ChannelOptions<T> {
  /** The values to hold after `next` arrives, given those held (default: `next` only). */
  keep?: (held: T[], next: T) => T[];
  /** Called once when the reader stops or the stream has ended. */
  onClose?: () => void;
}

const latestOnly = <T>(_held: T[], next: T): T[] => [next];

/**
 * A class, not a closure per method: thousands of subscribers each hold one, and under tsx
 * (esbuild's keepNames) every named arrow function also gets its own property dictionary
 * (about 360 bytes a closure instead of 100).
 */
class ChannelOf<T> implements ListenableChannel<T> {
  private held: T[] = [];
  private ended = false;
  private isClosed = false;
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private sink: ChannelSink<T> | null = null;
  /** The sink has a value it has not called `ready()` for. */
  private busy = false;
  private closers: (() => void)[] | null;
  private readonly keep: (held: T[], next: T) => T[];

  constructor(options: ChannelOptions<T>) {
    this.keep = options.keep ?? latestOnly;
    this.closers = options.onClose ? [options.onClose] : null;
  }

  get closed() {
    return this.isClosed;
  }

  onClose(fn: () => void) {
    if (this.isClosed) fn();
    else (this.closers ??= []).push(fn);
  }

  push(value: T) {
    if (this.ended || this.isClosed) return;
    if (this.sink && !this.busy) {
      this.busy = true;
      this.sink.take(value);
      return;
    }
    const resolve = this.waiting;
    if (resolve) {
      this.waiting = null;
      resolve({ value, done: false });
      return;
    }
    this.held = this.keep(this.held, value);
  }

  end() {
    this.ended = true;
    if (this.sink) {
      if (!this.busy && !this.held.length) this.close();
      return;
    }
    const resolve = this.waiting;
    if (resolve && !this.held.length) {
      this.waiting = null;
      this.close();
      resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.held.length) return Promise.resolve({ value: this.held.shift() as T, done: false });
    if (this.ended || this.isClosed) {
      this.close();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.ended = true;
    this.close();
    const resolve = this.waiting;
    if (resolve) {
      this.waiting = null;
      resolve({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  listen(sink: ChannelSink<T>) {
    this.sink = sink;
    if (this.isClosed) {
      this.sink = null;
      sink.end();
      return;
    }
    this.ready();
  }

  ready() {
    if (!this.sink) return;
    this.busy = false;
    if (this.held.length) {
      this.busy = true;
      this.sink.take(this.held.shift() as T);
    } else if (this.ended) this.close();
  }

  private close() {
    if (this.isClosed) return;
    this.isClosed = true;
    this.held = [];
    const closers = this.closers;
    this.closers = null;
    for (const fn of closers ?? []) fn();
    const sink = this.sink;
    this.sink = null;
    sink?.end();
  }
}

export function createChannel<T>(options: ChannelOptions<T> = {}): ListenableChannel<T> {
  return new ChannelOf(options);
}

/** A bounded queue: when full, the oldest value is dropped. */
export const boundedQueue =
  <T>(max: number) =>
  (held: T[], next: T): T[] => {
    held.push(next);
    return held.length > max ? held.slice(held.length - max) : held;
  };
