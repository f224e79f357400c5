import { describeApiKey, generateApiKey, hashApiKey, parseBearer } from './api-key';

describe('api keys', () => {
  it('generates distinct high-entropy keys with a visible prefix and a sha256 hash', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.key).not.toBe(b.key);
    expect(a.key).toMatch(/^evg_[A-Za-z0-9_-]{40}$/);
    expect(a.prefix).toBe(a.key.slice(0, 12));
    expect(a.hash).toBe(hashApiKey(a.key));
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('hashes a known vector like sha256', () => {
    expect(hashApiKey('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(describeApiKey('operator-chosen-key-0123456789-abcdefghij').prefix).toBe('operator');
  });

  it('parses Bearer headers and tells absent from malformed', () => {
    expect(parseBearer(null)).toBeNull();
    expect(parseBearer('')).toBeNull();
    expect(parseBearer('Bearer evg_0123456789abcdef')).toBe('evg_0123456789abcdef');
    expect(parseBearer('bearer   evg_0123456789abcdef  ')).toBe('evg_0123456789abcdef');
    expect(parseBearer('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(parseBearer('Bearer short')).toBeUndefined();
    expect(parseBearer(`Bearer ${'x'.repeat(300)}`)).toBeUndefined();
  });
});
