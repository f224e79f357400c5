import { boundedQueue, createChannel } from './channel';

async function take<T>(it: AsyncIterator<T>, n: number) {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe('createChannel', () => {
  it('hands a waiting reader the value at once', async () => {
    const ch = createChannel<number>();
    const next = ch.next();
    ch.push(1);
    expect(await next).toEqual({ value: 1, done: false });
  });

  it('keeps only the newest value for a reader that fell behind (default)', async () => {
    const ch = createChannel<number>();
    for (let i = 1; i <= 1000; i++) ch.push(i);
    ch.end();
    expect(await take(ch, 10)).toEqual([1000]);
  });

  it('with a bounded queue, keeps the newest `max` values in order', async () => {
    const ch = createChannel<number>({ keep: boundedQueue(3) });
    for (let i = 1; i <= 5; i++) ch.push(i);
    ch.end();
    expect(await take(ch, 10)).toEqual([3, 4, 5]);
  });

  it('ends after the held values are taken, and calls onClose once', async () => {
    const onClose = jest.fn();
    const ch = createChannel<number>({ onClose, keep: boundedQueue(10) });
    ch.push(1);
    ch.push(2);
    ch.end();
    ch.push(3); // after the end: ignored
    expect(await take(ch, 10)).toEqual([1, 2]);
    expect(await ch.next()).toEqual({ value: undefined, done: true });
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it('return() stops a waiting reader and closes', async () => {
    const onClose = jest.fn();
    const ch = createChannel<number>({ onClose });
    const pending = ch.next();
    await ch.return!();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(ch.closed).toBe(true);
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it('onClose callbacks added later run too, and at once on a closed channel', async () => {
    const ch = createChannel<number>();
    const later = jest.fn();
    ch.onClose(later);
    await ch.return!();
    expect(later).toHaveBeenCalledTimes(1);
    const after = jest.fn();
    ch.onClose(after);
    expect(after).toHaveBeenCalledTimes(1);
  });

  it('end() releases a reader waiting on an empty channel', async () => {
    const ch = createChannel<number>();
    const pending = ch.next();
    ch.end();
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  it('pushes to a listening sink one value at a time, holding the rest as `keep` says until ready()', () => {
    const ch = createChannel<number>();
    const taken: number[] = [];
    let ends = 0;
    ch.push(1);
    ch.listen({ take: (v) => taken.push(v), end: () => ends++ });
    expect(taken).toEqual([1]);
    // The sink is busy with 1: the newest value only is held for it.
    ch.push(2);
    ch.push(3);
    ch.end();
    expect(taken).toEqual([1]);
    ch.ready();
    expect(taken).toEqual([1, 3]);
    expect([ends, ch.closed]).toEqual([0, false]);
    ch.ready();
    expect([ends, ch.closed]).toEqual([1, true]);
  });

  it('tells a listening sink once when the stream is stopped (return)', () => {
    const ch = createChannel<number>();
    let ends = 0;
    ch.listen({ take: () => {}, end: () => ends++ });
    void ch.return!();
    void ch.return!();
    ch.push(1);
    expect(ends).toBe(1);
  });
});
