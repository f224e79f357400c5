import { createLimiter } from './limiter';

/** A call that runs until its signal aborts. */
const hang = (signal: AbortSignal) => () =>
  new Promise<never>((_resolve, reject) =>
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
  );

describe('createLimiter', () => {
  it('runs at most `capacity` calls at once, the others in order as slots free', async () => {
    const limiter = createLimiter(2);
    const order: number[] = [];
    const gates = Array.from({ length: 5 }, () => {
      let resolve = () => {};
      const promise = new Promise<void>((r) => (resolve = r));
      return { promise, resolve };
    });
    const runs = gates.map((gate, i) =>
      limiter.run(async () => {
        order.push(i);
        await gate.promise;
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect([order, limiter.stats()]).toEqual([[0, 1], { active: 2, waiting: 3 }]);
    gates[1].resolve();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1, 2]);
    for (const gate of gates) gate.resolve();
    await Promise.all(runs);
    expect([order, limiter.stats()]).toEqual([[0, 1, 2, 3, 4], { active: 0, waiting: 0 }]);
  });

  it('settles every call when all are aborted at once, and keeps no slot or waiter', async () => {
    // cockatiel's bulkhead left 4 of these 8 pending forever (a refused waiter passed its slot to no one).
    const limiter = createLimiter(2);
    const controllers = Array.from({ length: 8 }, () => new AbortController());
    const settled = controllers.map((c) =>
      limiter.run(hang(c.signal), c.signal).then(
        () => 'ok',
        () => 'rejected',
      ),
    );
    await new Promise((r) => setImmediate(r));
    for (const c of controllers) c.abort();
    expect(await Promise.all(settled)).toEqual(Array(8).fill('rejected'));
    expect(limiter.stats()).toEqual({ active: 0, waiting: 0 });
    // The limit still works afterwards.
    expect(await limiter.run(async () => 'again')).toBe('again');
  });

  it('rejects a call whose signal aborted before it started, without taking a slot', async () => {
    const limiter = createLimiter(1);
    const c = new AbortController();
    c.abort(new Error('stopped'));
    await expect(limiter.run(async () => 'never', c.signal)).rejects.toThrow('stopped');
    expect(limiter.stats()).toEqual({ active: 0, waiting: 0 });
  });
});
