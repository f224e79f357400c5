// An async iterator fed by a producer, for subscription streams. What it holds for a reader that
// has not caught up is decided by `keep`: the newest value only (progress: a slow reader skips to
// the latest state), or a bounded queue. Memory per reader is bounded either way.

export interface Channel<T> extends AsyncIterableIterator<T> {
  push(value: T): void;
  /** Ends the stream once the values held are taken. */
  end(): void;
  /** Adds a callback for when the reader stops or the stream has ended (at once if it has). */
  onClose(fn: () => void): void;
  readonly closed: boolean;
}

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
class ChannelOf<T> implements Channel<T> {
  private held: T[] = [];
  private ended = false;
  private isClosed = false;
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
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

  private close() {
    if (this.isClosed) return;
    this.isClosed = true;
    this.held = [];
    const closers = this.closers;
    this.closers = null;
    for (const fn of closers ?? []) fn();
  }
}

export function createChannel<T>(options: ChannelOptions<T> = {}): Channel<T> {
  return new ChannelOf(options);
}

/** A bounded queue: when full, the oldest value is dropped. */
export const boundedQueue =
  <T>(max: number) =>
  (held: T[], next: T): T[] => {
    held.push(next);
    return held.length > max ? held.slice(held.length - max) : held;
  };
