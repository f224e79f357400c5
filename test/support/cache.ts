import type { GqlResponse } from './app';

/**
 * Reads until the answer comes from the response cache, and returns that answer. Writes made just
 * before (a test's seeding) announce their invalidation over pub/sub (Redis when set), which may
 * arrive after the first read stored its entry and drop it: read again until one stays.
 */
export async function readUntilCached(read: () => Promise<GqlResponse>): Promise<GqlResponse> {
  let answer = await read();
  for (let i = 0; i < 20 && answer.headers.get('x-cache') !== 'HIT'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    answer = await read();
  }
  return answer;
}
