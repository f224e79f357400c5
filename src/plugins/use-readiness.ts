import type { Plugin } from 'graphql-yoga';
import { answering } from './on-request';

export type ReadinessCheck = () => Promise<Record<string, unknown> | void>;

export interface ReadinessOptions {
  /** Named checks; a check that throws makes the service not ready. */
  checks: Record<string, ReadinessCheck>;
  /** @default '/health/ready' */
  endpoint?: string;
}

/** Runs every check: ready when none throws, with each part's details (or its error). */
export async function readinessReport(checks: Record<string, ReadinessCheck>) {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      const started = performance.now();
      try {
        const details = await check();
        return [
          name,
          { ok: true, latencyMs: Math.round(performance.now() - started), ...details },
        ] as const;
      } catch (error) {
        return [
          name,
          { ok: false, error: error instanceof Error ? error.message : String(error) },
        ] as const;
      }
    }),
  );
  const ok = results.every(([, r]) => r.ok);
  return {
    ok,
    body: { status: ok ? 'ready' : 'unavailable', checks: Object.fromEntries(results) },
  };
}

/** `GET /health/ready`: 200 with each part's details, or 503 naming the failing part. */
export function useReadiness({ checks, endpoint = '/health/ready' }: ReadinessOptions): Plugin {
  return {
    onRequest: answering(
      ({ request, url }) => url.pathname === endpoint && request.method === 'GET',
      async ({ fetchAPI, endResponse }) => {
        const { ok, body } = await readinessReport(checks);
        endResponse(
          new fetchAPI.Response(JSON.stringify(body), {
            status: ok ? 200 : 503,
            headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
          }),
        );
      },
    ),
  };
}
