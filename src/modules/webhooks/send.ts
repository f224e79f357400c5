// One HTTP delivery attempt: POST the body as stored, with the Standard Webhooks headers, through
// the address guard, within the timeout; the answer's status, a snippet of its body and any
// Retry-After are kept for the attempt log.
import http from 'node:http';
import https from 'node:https';
import { parseRetryAfter } from '../../lib/retry-after';
import { guardedLookup, sendTarget, TargetRefusedError, type AllowList } from './ssrf';

export interface AttemptResult {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  snippet: string | null;
  /** From a Retry-After header, in ms. */
  retryAfterMs: number | null;
  /** Cut short on our side (our own `signal`, or the sender thread ended): says nothing about the receiver. */
  aborted?: boolean;
}

const SNIPPET_BYTES = 1024;

// One agent for every delivery (none kept alive: each connection's address is checked, see
// ssrf.ts), instead of an agent made for each request.
const agents = {
  'http:': new http.Agent({ keepAlive: false }),
  'https:': new https.Agent({ keepAlive: false }),
};

export function sendWebhook(
  target: string,
  headers: Record<string, string>,
  body: string,
  options: { timeoutMs: number; allow: AllowList; signal?: AbortSignal },
): Promise<AttemptResult> {
  const started = performance.now();
  const { signal } = options;
  const ended = (result: Omit<AttemptResult, 'latencyMs'>): AttemptResult => ({
    ...result,
    latencyMs: Math.round(performance.now() - started),
  });
  if (signal?.aborted) return Promise.resolve(ended(ABORTED));
  let url: URL;
  try {
    url = sendTarget(target, options.allow);
  } catch (error) {
    return Promise.resolve(ended(refused(error as Error)));
  }
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: Omit<AttemptResult, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
      resolve(ended(result));
    };
    const stop = () => {
      request.destroy();
      done(ABORTED);
    };
    const isHttps = url.protocol === 'https:';
    // Name resolution (a name's addresses checked by guardedLookup) counts against the attempt's time.
    const request = (isHttps ? https : http).request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': 'Evalgraph-Webhooks/1',
        ...headers,
      },
      lookup: guardedLookup(options.allow, url.hostname),
      agent: agents[isHttps ? 'https:' : 'http:'],
    });
    const timer = setTimeout(() => {
      request.destroy();
      done({
        statusCode: null,
        error: `timed out after ${options.timeoutMs} ms`,
        snippet: null,
        retryAfterMs: null,
      });
    }, options.timeoutMs);
    request.on('error', (error) => {
      done(
        error instanceof TargetRefusedError
          ? refused(error)
          : {
              statusCode: null,
              error: `${(error as NodeJS.ErrnoException).code ?? 'error'}: ${error.message}`,
              snippet: null,
              retryAfterMs: null,
            },
      );
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = () => {
        const snippet = Buffer.concat(chunks).subarray(0, SNIPPET_BYTES).toString('utf8');
        done({
          statusCode: response.statusCode ?? null,
          error: null,
          snippet: snippet || null,
          retryAfterMs: parseRetryAfter(response.headers['retry-after']),
        });
        response.destroy();
      };
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= SNIPPET_BYTES) finish();
      });
      response.on('end', finish);
      response.on('error', finish);
    });
    signal?.addEventListener('abort', stop, { once: true });
    request.end(body);
  });
}

export const ABORTED = {
  statusCode: null,
  error: 'aborted: the worker is stopping',
  snippet: null,
  retryAfterMs: null,
  aborted: true,
};

const refused = (error: Error) => ({
  statusCode: null,
  error: `refused: ${error.message}`,
  snippet: null,
  retryAfterMs: null,
});
