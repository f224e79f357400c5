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

export function createChannel<T>(options: ChannelOptions<T> = {}): Channel<T> {
  const keep = options.keep ?? ((_held: T[], next: T) => [next]);
  let held: T[] = [];
  let ended = false;
  let closed = false;
  let waiting: ((result: IteratorResult<T>) => void) | null = null;
  const closers = options.onClose ? [options.onClose] : [];

  const close = () => {
    if (closed) return;
    closed = true;
    held = [];
    for (const fn of closers) fn();
  };

  const channel: Channel<T> = {
    get closed() {
      return closed;
    },
    onClose(fn) {
      if (closed) fn();
      else closers.push(fn);
    },
    push(value) {
      if (ended || closed) return;
      if (waiting) {
        const resolve = waiting;
        waiting = null;
        resolve({ value, done: false });
        return;
      }
      held = keep(held, value);
    },
    end() {
      ended = true;
      if (waiting && !held.length) {
        const resolve = waiting;
        waiting = null;
        close();
        resolve({ value: undefined, done: true });
      }
    },
    next() {
      if (held.length) return Promise.resolve({ value: held.shift() as T, done: false });
      if (ended || closed) {
        close();
        return Promise.resolve({ value: undefined, done: true });
      }
      return new Promise((resolve) => (waiting = resolve));
    },
    return() {
      ended = true;
      close();
      if (waiting) {
        const resolve = waiting;
        waiting = null;
        resolve({ value: undefined, done: true });
      }
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return channel;
    },
  };
  return channel;
}

/** A bounded queue: when full, the oldest value is dropped. */
export const boundedQueue =
  <T>(max: number) =>
  (held: T[], next: T): T[] => {
    held.push(next);
    return held.length > max ? held.slice(held.length - max) : held;
  };
