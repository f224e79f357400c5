import { settledBy } from './deadline';

describe('settledBy', () => {
  it('says whether everything settled (rejections included) before the deadline', async () => {
    expect(
      await settledBy(
        [Promise.resolve(1), Promise.reject(new Error('no')), undefined],
        Date.now() + 1_000,
      ),
    ).toBe(true);
    const never = new Promise(() => {});
    const started = Date.now();
    expect(await settledBy([Promise.resolve(), never], Date.now() + 50)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
    // A deadline already past gives up at once; none at all waits.
    expect(await settledBy([never], 0)).toBe(false);
    expect(await settledBy([new Promise((r) => setTimeout(r, 20))], Infinity)).toBe(true);
  });
});
