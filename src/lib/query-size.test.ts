import { checkQuerySize, exceedsBytes } from './query-size';

describe('exceedsBytes', () => {
  it('counts UTF-8 bytes, not characters', () => {
    expect(exceedsBytes('a'.repeat(10), 10)).toBe(false);
    expect(exceedsBytes('a'.repeat(11), 10)).toBe(true);
    // 'é' is 2 bytes, '€' 3, '😀' 4 (two UTF-16 units).
    expect(exceedsBytes('é'.repeat(5), 10)).toBe(false);
    expect(exceedsBytes('é'.repeat(6), 10)).toBe(true);
    expect(exceedsBytes('€'.repeat(4), 12)).toBe(false);
    expect(exceedsBytes('€'.repeat(4), 11)).toBe(true);
    expect(exceedsBytes('😀'.repeat(3), 12)).toBe(false);
    expect(exceedsBytes('😀'.repeat(3), 11)).toBe(true);
  });
});

describe('checkQuerySize', () => {
  it('refuses a longer text with 413 and BAD_USER_INPUT naming the limit', () => {
    expect(() => checkQuerySize(' '.repeat(100), 100)).not.toThrow();
    let error: any;
    try {
      checkQuerySize(' '.repeat(101), 100);
    } catch (e) {
      error = e;
    }
    expect(error.message).toMatch(/larger than 100 bytes/);
    expect(error.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      limit: 100,
      path: ['query'],
      http: { status: 413 },
    });
  });

  it('leaves what is not a string to the server to refuse', () => {
    expect(() => checkQuerySize(undefined, 1)).not.toThrow();
    expect(() => checkQuerySize({ length: 1e9 }, 1)).not.toThrow();
  });
});
