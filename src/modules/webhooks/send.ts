// One HTTP delivery attempt: POST the body as stored, with the Standard Webhooks headers, through
// the address guard, within the timeout; the answer's status, a snippet of its body and any
// Retry-After are kept for the attempt log.
import http from 'node:http';
import https from 'node:https';
import { parseRetryAfter } from '../../lib/retry-after';
import { checkTarget, guardedLookup, TargetRefusedError, type AllowList } from './ssrf';

export interface AttemptResult {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  snippet: string | null;
  /** From a Retry-After header, in ms. */
  retryAfterMs: number | null;
  /** Cut short by our own `signal` (shutdown): says nothing about the receiver. */
  aborted?: boolean;
}

const SNIPPET_BYTES = 1024;

export async function sendWebhook(
  target: string,
  headers: Record<string, string>,
  body: string,
  options: { timeoutMs: number; allow: AllowList; signal?: AbortSignal },
): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const { signal } = options;
  const aborted = (): AttemptResult => ({
    statusCode: null,
    latencyMs: elapsed(),
    error: 'aborted: the worker is stopping',
    snippet: null,
    retryAfterMs: null,
    aborted: true,
  });
  if (signal?.aborted) return aborted();
  let url: URL;
  let onAbort = () => {};
  try {
    // Name resolution counts against the attempt's time too.
    url = await Promise.race([
      checkTarget(target, options.allow),
      new Promise<never>((_resolve, reject) =>
        setTimeout(
          () => reject(new TargetRefusedError(`no address within ${options.timeoutMs} ms`)),
          options.timeoutMs,
        ).unref(),
      ),
      new Promise<never>((_resolve, reject) => {
        onAbort = () => reject(signal!.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } catch (error) {
    if (signal?.aborted) return aborted();
    return {
      statusCode: null,
      latencyMs: elapsed(),
      error: `refused: ${(error as Error).message}`,
      snippet: null,
      retryAfterMs: null,
    };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: Omit<AttemptResult, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
      resolve({ ...result, latencyMs: elapsed() });
    };
    const stop = () => {
      request.destroy();
      const { latencyMs: _latencyMs, ...result } = aborted();
      done(result);
    };
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': 'Evalgraph-Webhooks/1',
        ...headers,
      },
      lookup: guardedLookup(options.allow, url.hostname),
      agent: false,
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
      const refused = error instanceof TargetRefusedError;
      done({
        statusCode: null,
        error: refused
          ? `refused: ${error.message}`
          : `${(error as NodeJS.ErrnoException).code ?? 'error'}: ${error.message}`,
        snippet: null,
        retryAfterMs: null,
      });
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
