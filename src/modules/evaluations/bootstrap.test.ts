// Graders share their bootstrap draws: each one's interval must still be the one it gets alone.
import { bootstrapIntervals } from './bootstrap';

const options = { seed: 42, resamples: 300, level: 0.95 };

describe('bootstrapIntervals', () => {
  it('gives each list the interval it gets alone, whatever lists it is computed with', async () => {
    const a = [0.1, -0.4, 0.25, 0, 1, -1, 0.5];
    const b = [1, 0, 0, -1];
    const c = [0, 0.2, 0.2, -0.6, 0.9, 0.3, -0.1];
    const together = await bootstrapIntervals([a, b, [], c], options);
    const alone = await Promise.all(
      [a, b, c].map(async (l) => (await bootstrapIntervals([l], options))[0]),
    );
    expect(together).toEqual([alone[0], alone[1], null, alone[2]]);
    // a and c share their draws (same length) yet differ, as their values do.
    expect(together[0]).not.toEqual(together[3]);
    for (const [list, interval] of [
      [a, together[0]],
      [b, together[1]],
      [c, together[3]],
    ] as const) {
      const mean = list.reduce((s, x) => s + x, 0) / list.length;
      expect(interval!.lower).toBeLessThanOrEqual(mean);
      expect(interval!.upper).toBeGreaterThanOrEqual(mean);
    }
  });

  it('is a point for differences that do not vary, and follows the seed', async () => {
    expect(await bootstrapIntervals([[0.25, 0.25, 0.25]], options)).toEqual([
      { lower: 0.25, upper: 0.25 },
    ]);
    const list = [0.13, -0.71, 0.42, 0.05, 0.97, -0.33, 0.58, -0.06, 0.21, 0.84, -0.49, 0.3];
    const [one] = await bootstrapIntervals([list], options);
    expect((await bootstrapIntervals([list], options))[0]).toEqual(one);
    expect((await bootstrapIntervals([list], { ...options, seed: 43 }))[0]).not.toEqual(one);
  });
});
