// Real subscription clients for tests: graphql-ws over `ws`, and graphql-sse's client in its
// distinct-connections mode (Yoga's Server-Sent Events on /graphql).
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface Collected<T = any> {
  events: T[];
  /** Resolves when the server completes the stream; rejects with its errors. */
  done: Promise<T[]>;
}

export function wsClient(
  url: string,
  key: string | null,
  options: { onClose?: (code: number, reason: string) => void } = {},
): Client {
  return createWsClient({
    url: `${url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: key ? { authorization: `Bearer ${key}` } : {},
    retryAttempts: 0,
    lazy: true,
    on: {
      closed: (event) =>
        options.onClose?.(
          (event as { code: number }).code,
          String((event as { reason: string }).reason),
        ),
    },
  });
}

type Subscribable = {
  subscribe(
    payload: { query: string; variables?: Record<string, unknown> },
    sink: { next(v: any): void; error(e: unknown): void; complete(): void },
  ): () => void;
};

function collect(
  client: Subscribable,
  query: string,
  variables: Record<string, unknown>,
): Collected & { stop: () => void } {
  const events: any[] = [];
  let stop = () => {};
  const done = new Promise<any[]>((resolve, reject) => {
    stop = client.subscribe(
      { query, variables },
      {
        next: (value) => events.push(value),
        error: (error) => reject(error),
        complete: () => resolve(events),
      },
    );
  });
  done.catch(() => {});
  return { events, done, stop };
}

export const subscribeWs = (
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
) => collect(client, query, variables);

export function subscribeSse(
  baseUrl: string,
  key: string,
  query: string,
  variables: Record<string, unknown> = {},
) {
  const client = createSseClient({
    url: `${baseUrl}/graphql`,
    singleConnection: false,
    headers: { authorization: `Bearer ${key}` },
    retryAttempts: 0,
  });
  const collected = collect(client, query, variables);
  return { ...collected, dispose: () => client.dispose() };
}

/** Waits until `predicate` holds, polling every 20 ms. */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
) {
  const started = Date.now();
  while (!(await predicate())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
