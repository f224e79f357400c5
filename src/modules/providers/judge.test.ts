import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import type { JudgeProviderConfig } from '../../config-judges';
import { createJudge, retryDelayMs } from './judge';

const answered = (status: number, headers: Record<string, string> = {}) =>
  new OpenAI.APIError(status, { message: 'x' }, 'x', new Headers(headers));

describe('retryDelayMs', () => {
  it('waits as long as the provider asks, at most a minute', () => {
    expect(retryDelayMs(answered(429, { 'retry-after': '2' }), 0)).toBe(2_000);
    expect(retryDelayMs(answered(503, { 'retry-after-ms': '250', 'retry-after': '9' }), 0)).toBe(
      250,
    );
    expect(
      retryDelayMs(answered(429, { 'retry-after': new Date(Date.now() + 3_000).toUTCString() }), 0),
    ).toBeGreaterThan(1_000);
    expect(retryDelayMs(answered(429, { 'retry-after': '3600' }), 0)).toBe(60_000);
  });

  it('backs off exponentially (with jitter) when not told, up to 8 s', () => {
    // 500 ms doubling to at most 8 s, each jittered by ±10 % (lib/backoff): checked over many draws.
    for (let i = 0; i < 200; i++) {
      const first = retryDelayMs(answered(500), 0)!;
      expect([first >= 450, first <= 550]).toEqual([true, true]);
      const late = retryDelayMs(new OpenAI.APIConnectionError({ message: 'reset' }), 10)!;
      expect([late >= 7_200, late <= 8_800]).toEqual([true, true]);
      expect(retryDelayMs(new OpenAI.APIConnectionTimeoutError(), 1)).toBeGreaterThanOrEqual(900);
    }
  });

  it('does not retry the caller’s mistakes, aborts, or what the provider says not to', () => {
    expect(retryDelayMs(answered(400), 0)).toBeNull();
    expect(retryDelayMs(answered(404), 0)).toBeNull();
    expect(retryDelayMs(answered(500, { 'x-should-retry': 'false' }), 0)).toBeNull();
    expect(retryDelayMs(answered(400, { 'x-should-retry': 'true' }), 0)).not.toBeNull();
    expect(retryDelayMs(new OpenAI.APIUserAbortError(), 0)).toBeNull();
    expect(retryDelayMs(new Error('bug'), 0)).toBeNull();
  });
});

describe('createJudge', () => {
  let server: Server;
  let url: string;
  let requests = 0;
  beforeAll(async () => {
    // A provider that always asks to come back in a minute.
    server = createServer((req, res) => {
      requests += 1;
      req.resume();
      res
        .writeHead(429, { 'content-type': 'application/json', 'retry-after': '60' })
        .end(JSON.stringify({ error: { message: 'slow down' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const config = (concurrency: number): JudgeProviderConfig => ({
    name: 'default',
    baseUrl: url,
    apiKey: 'sk-test',
    models: ['*'],
    fallback: null,
    timeoutMs: 5_000,
    maxRetries: 3,
    concurrency,
    breakerFailures: 5,
    breakerResetMs: 30_000,
  });

  it('ends a call sleeping out a Retry-After, and the calls queued behind it, as soon as they are aborted', async () => {
    const judge = createJudge(config(1));
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const calls = controllers.map((c) =>
      judge.chat({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, c.signal).then(
        () => 'answered',
        (e) => e,
      ),
    );
    while (requests < 1) await new Promise((r) => setTimeout(r, 10));
    const started = Date.now();
    for (const c of controllers) c.abort();
    const outcomes = await Promise.all(calls);
    expect(Date.now() - started).toBeLessThan(500);
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(OpenAI.APIUserAbortError);
    // Aborts say nothing about the provider's health.
    expect(judge.state()).toBe('closed');
    expect(requests).toBe(1);
  });
});

describe('usage', () => {
  let server: Server;
  let url: string;
  // An OpenAI-compatible server that reports usage only when the request's model says so.
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString());
        const reports = body.model === 'reports-usage';
        const answer = req.url?.endsWith('/embeddings')
          ? {
              object: 'list',
              model: body.model,
              data: [{ object: 'embedding', index: 0, embedding: [1, 0] }],
              ...(reports ? { usage: { prompt_tokens: 7, total_tokens: 7 } } : {}),
            }
          : {
              id: 'x',
              object: 'chat.completion',
              created: 0,
              model: body.model,
              choices: [
                { index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'ok' } },
              ],
              ...(reports
                ? { usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } }
                : {}),
            };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const judge = () =>
    createJudge({
      name: 'default',
      baseUrl: url,
      apiKey: 'sk-test',
      models: ['*'],
      fallback: null,
      timeoutMs: 5_000,
      maxRetries: 0,
      concurrency: 2,
      breakerFailures: 5,
      breakerResetMs: 30_000,
    });
  const chat = (model: string) =>
    judge().chat({ model, messages: [{ role: 'user', content: 'hi' }] });

  it('reads the usage a provider reports', async () => {
    expect((await chat('reports-usage')).usage).toEqual({ inputTokens: 7, outputTokens: 3 });
    expect((await judge().embed(['a'], 'reports-usage')).usage).toEqual({ inputTokens: 7 });
  });

  it('keeps no usage reported apart from 0 tokens (its cost is unknown, not 0)', async () => {
    expect((await chat('silent')).usage).toBeNull();
    expect((await judge().embed(['a'], 'silent')).usage).toBeNull();
  });
});
