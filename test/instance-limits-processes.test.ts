// The instance's limits hold across API processes: with Postgres and Redis, two `serve --role api`
// processes count one hour and one set of requests in flight (requests held open in both count
// together), and the slots of a process killed while it held requests free themselves when their
// leases run out. On the embedded database one `serve` process owns it: the same counts there,
// and a crash forgets its slots with the process.
import { holdRequest, metricValue, type HeldRequest } from './support/held';
import { until } from './support/live';
import { createDeployment } from './support/process';

jest.setTimeout(180_000);

const multi = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);
const QUERY = '{ __typename }';

const post = (url: string, key: string) =>
  fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: QUERY }),
  });
const inFlight = async (url: string) =>
  metricValue(
    await (await fetch(`${url}/metrics`)).text(),
    'evalgraph_instance_requests_in_flight',
  );

it(
  multi
    ? 'two API processes answer 10 requests an hour between them: 6 sent to each, exactly 10 pass'
    : 'one serve process answers 10 requests an hour: of 12, exactly 10 pass',
  async () => {
    const deployment = await createDeployment({
      project: 'hourly',
      shared: multi,
      env: { EVALGRAPH_GLOBAL_LIMITS: JSON.stringify({ requestsPerHour: 10 }) },
    });
    try {
      const a = await deployment.startApi();
      const b = multi ? await deployment.startApi() : a;
      // Interleaved and at once: the count is one, wherever requests arrive.
      const sent = await Promise.all(
        Array.from({ length: 12 }, (_, i) => post(i % 2 ? b.url : a.url, deployment.key)),
      );
      const statuses = sent.map((r) => r.status).sort();
      expect(statuses).toEqual([...Array(10).fill(200), 429, 429]);
      const refused = sent.filter((r) => r.status === 429);
      for (const r of refused) {
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(((await r.json()) as any).errors[0].extensions).toMatchObject({
          code: 'INSTANCE_LIMIT_EXCEEDED',
          limit: 'requestsPerHour',
        });
      }
      // Each process reports the instance's count, not its own.
      for (const url of [a.url, b.url]) {
        const text = await (await fetch(`${url}/metrics`)).text();
        expect(metricValue(text, 'evalgraph_instance_requests_this_hour')).toBe(10);
      }
    } finally {
      await deployment.close();
    }
  },
);

it(
  multi
    ? 'requests held open in two API processes count together, and a killed process’s slots are freed'
    : 'requests held open in one serve process count, and a crash forgets them',
  async () => {
    const deployment = await createDeployment({
      project: 'concurrent',
      shared: multi,
      // Slots live 2 s unless their process renews them.
      env: { EVALGRAPH_GLOBAL_LIMITS: JSON.stringify({ concurrent: 3, leaseSeconds: 2 }) },
    });
    const { key } = deployment;
    const held: HeldRequest[] = [];
    const hold = (url: string) => {
      const h = holdRequest(url, key);
      held.push(h);
      return h;
    };
    try {
      const a = await deployment.startApi();
      const b = multi ? await deployment.startApi() : a;
      const first = hold(a.url);
      hold(a.url);
      hold(b.url);
      await until(async () => (await inFlight(a.url)) === 3, 20_000, '3 requests in flight');
      expect(await inFlight(b.url)).toBe(3);
      for (const url of [a.url, b.url]) {
        const refused = await post(url, key);
        expect(refused.status).toBe(503);
        expect(refused.headers.get('retry-after')).toBe('1');
        expect(((await refused.json()) as any).errors[0].extensions).toMatchObject({
          code: 'INSTANCE_LIMIT_EXCEEDED',
          limit: 'concurrent',
        });
      }
      // One ends on A: a request on B gets its slot.
      expect((await first.release()).status).toBe(200);
      await until(async () => (await inFlight(b.url)) === 2, 20_000, '2 requests in flight');
      expect((await post(b.url, key)).status).toBe(200);

      // B (embedded: the one process) dies holding two requests.
      hold(b.url);
      await until(async () => (await inFlight(a.url)) === 3, 20_000, '3 requests in flight');
      if (multi) await b.stop('SIGKILL');
      else await deployment.crash();
      const survivor = multi ? a.url : deployment.api.url;
      // Its slots are freed (shared: when their leases run out; embedded: with the process).
      await until(
        async () => (await inFlight(survivor)) === (multi ? 1 : 0),
        20_000,
        "the dead process's slots freed",
      );
      const more = multi
        ? [hold(survivor), hold(survivor)]
        : [hold(survivor), hold(survivor), hold(survivor)];
      await until(async () => (await inFlight(survivor)) === 3, 20_000, '3 requests in flight');
      expect((await post(survivor, key)).status).toBe(503);
      for (const h of more) expect((await h.release()).status).toBe(200);
    } finally {
      for (const h of held) h.abort();
      await deployment.close();
    }
  },
);
