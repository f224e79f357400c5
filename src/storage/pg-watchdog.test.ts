// The watchdog on a fake clock: when it checks the database, how often, and what it does with
// the answer. (Against a real, frozen Postgres: test/postgres-frozen.test.ts.)
import { createWatchdog } from './pg-watchdog';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

/** A check that the test answers: `answer()` or `fail(error)`. */
function pendingChecks() {
  const calls: { resolve(): void; reject(error: Error): void }[] = [];
  const check = jest.fn(
    () => new Promise<void>((resolve, reject) => void calls.push({ resolve, reject })),
  );
  return { check, calls };
}

describe('createWatchdog', () => {
  it('does not check while every statement is answered within probeAfterMs', async () => {
    const { check } = pendingChecks();
    const onUnanswered = jest.fn();
    const watchdog = createWatchdog({ probeAfterMs: 3_000, check, onUnanswered });
    for (let i = 0; i < 10; i += 1) {
      const settled = watchdog.started();
      await jest.advanceTimersByTimeAsync(2_900);
      settled();
    }
    await jest.advanceTimersByTimeAsync(10_000);
    expect(check).not.toHaveBeenCalled();
    // Nothing in flight: no timer left behind.
    expect(jest.getTimerCount()).toBe(0);
  });

  it('leaves a slow statement alone while the database answers, checking once per probeAfterMs', async () => {
    const { check, calls } = pendingChecks();
    const onUnanswered = jest.fn();
    const watchdog = createWatchdog({ probeAfterMs: 3_000, check, onUnanswered });
    const settled = watchdog.started();

    await jest.advanceTimersByTimeAsync(2_999);
    expect(check).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(check).toHaveBeenCalledTimes(1);
    // One check at a time, however long it takes.
    await jest.advanceTimersByTimeAsync(2_000);
    expect(check).toHaveBeenCalledTimes(1);
    calls[0].resolve();
    await jest.advanceTimersByTimeAsync(2_999);
    expect(check).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(check).toHaveBeenCalledTimes(2);
    calls[1].resolve();

    // A statement that started later changes nothing: still once per probeAfterMs.
    const later = watchdog.started();
    await jest.advanceTimersByTimeAsync(3_000);
    expect(check).toHaveBeenCalledTimes(3);
    calls[2].resolve();
    later();
    settled();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(check).toHaveBeenCalledTimes(3);
    expect(onUnanswered).not.toHaveBeenCalled();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('reports a failed check, and checks again while statements still wait', async () => {
    const { check, calls } = pendingChecks();
    const onUnanswered = jest.fn();
    const watchdog = createWatchdog({ probeAfterMs: 1_000, check, onUnanswered });
    const settled = watchdog.started();
    await jest.advanceTimersByTimeAsync(1_000);
    const error = new Error('no answer');
    calls[0].reject(error);
    await jest.advanceTimersByTimeAsync(0);
    expect(onUnanswered).toHaveBeenCalledWith(error);

    // Its statement not settled (whoever was told did not cut it): asked again, not forgotten.
    await jest.advanceTimersByTimeAsync(1_000);
    expect(check).toHaveBeenCalledTimes(2);
    calls[1].resolve();
    settled();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(check).toHaveBeenCalledTimes(2);
    expect(onUnanswered).toHaveBeenCalledTimes(1);
  });

  it('times the oldest statement in flight, not the latest', async () => {
    const { check } = pendingChecks();
    const watchdog = createWatchdog({ probeAfterMs: 3_000, check, onUnanswered: jest.fn() });
    watchdog.started();
    await jest.advanceTimersByTimeAsync(2_000);
    // Newer statements, settling at once, do not restart the clock.
    for (let i = 0; i < 5; i += 1) watchdog.started()();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(check).toHaveBeenCalledTimes(1);
  });
});
