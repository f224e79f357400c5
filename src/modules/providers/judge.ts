// The judge provider: an OpenAI-compatible chat completions and embeddings API through the
// `openai` SDK (configurable base URL and key, so OpenAI, Azure, vLLM, Ollama or LiteLLM all
// work). The SDK times each attempt out; we retry 408/409/429/5xx and dropped connections with
// backoff honouring Retry-After, and limit concurrency, ourselves, so that every wait of a call
// ends when its signal aborts (the SDK's own retry sleeps do not listen to it, and honour any
// Retry-After in full). A cockatiel circuit breaker wraps whole calls.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import OpenAI from 'openai';
import type { JudgeProviderConfig } from '../../config-judges';
import { backoffDelay } from '../../lib/backoff';
import { createLimiter } from '../../lib/limiter';
import { parseRetryAfter } from '../../lib/retry-after';

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  /** Default: EVALGRAPH_JUDGE_MODEL. It also picks the provider (router.ts), unless `provider` names one. */
  model?: string;
  /** The configured provider to ask, by name (a grader's `provider` field). */
  provider?: string;
  messages: ChatMessage[];
  temperature?: number;
  topP?: number;
  seed?: number;
  maxTokens?: number;
  /** Completions to sample. */
  n?: number;
  /** Alternatives per output token with their log probabilities (0 = none). */
  topLogprobs?: number;
  json?: boolean;
}

export interface TokenLogprobs {
  token: string;
  logprob: number;
  top: { token: string; logprob: number }[];
}

export interface ChatResult {
  model: string;
  /** The provider that answered (router.ts: a fallback's name when it took over). */
  provider?: string;
  choices: { text: string; logprobs: TokenLogprobs[] | null }[];
  /** As the provider reported it; null when it reported none (some OpenAI-compatible servers omit it): the call's cost is unknown, not 0. */
  usage: { inputTokens: number; outputTokens: number } | null;
}

export interface EmbedResult {
  model: string;
  provider?: string;
  vectors: number[][];
  /** As the provider reported it; null when it reported none. */
  usage: { inputTokens: number } | null;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export class JudgeUnavailableError extends Error {}

const isCallersFault = (error: unknown) =>
  error instanceof OpenAI.APIError &&
  typeof error.status === 'number' &&
  error.status >= 400 &&
  error.status < 500 &&
  error.status !== 408 &&
  error.status !== 429;

/** Failures worth trying again later (provider down, overloaded, timing out), as opposed to a bad request or answer. */
export const isTransient = (error: unknown) =>
  error instanceof JudgeUnavailableError ||
  error instanceof OpenAI.APIConnectionError ||
  (error instanceof OpenAI.APIError && !isCallersFault(error));

/** The longest Retry-After a call waits for; a provider asking for more is retried after this. */
const MAX_RETRY_AFTER_MS = 60_000;

/** OpenAI's own retry-after-ms, else the standard Retry-After. */
function retryAfterMs(headers: Headers | undefined): number | null {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  return Number.isFinite(ms) ? ms : parseRetryAfter(headers?.get('retry-after'));
}

/** How long to wait before retry `retry` (0 for the first) of a failed attempt, as the SDK would; null: not worth retrying. */
export function retryDelayMs(error: unknown, retry: number): number | null {
  if (error instanceof OpenAI.APIUserAbortError) return null;
  if (!(error instanceof OpenAI.APIConnectionError)) {
    if (!(error instanceof OpenAI.APIError) || typeof error.status !== 'number') return null;
    const told = error.headers?.get('x-should-retry');
    if (told === 'false') return null;
    if (told !== 'true' && ![408, 409, 429].includes(error.status) && error.status < 500)
      return null;
    const asked = retryAfterMs(error.headers);
    if (asked !== null && asked >= 0) return Math.min(asked, MAX_RETRY_AFTER_MS);
  }
  return backoffDelay(retry + 1, { baseMs: 500, capMs: 8_000 });
}

/** Where judge calls are timed (evalgraph_judge_request_seconds). */
export interface JudgeTimer {
  observe(labels: { provider: string; call: string; outcome: string }, seconds: number): void;
}

/** One provider's client, with its own breaker, retries and concurrency; router.ts picks among them. */
export function createJudge(config: JudgeProviderConfig, timer?: JudgeTimer) {
  // The provider label is its configured name: as many values as providers configured.
  const provider = config.name;
  // One attempt per SDK call: the retries are ours (below). A provider that needs no key ('') is
  // sent a placeholder: the SDK insists on one.
  const client =
    config.apiKey !== null
      ? new OpenAI({
          baseURL: config.baseUrl,
          apiKey: config.apiKey || 'none',
          timeout: config.timeoutMs,
          maxRetries: 0,
        })
      : null;
  // Aborted calls (a canceled evaluation) and the caller's own mistakes (4xx: unknown model, bad
  // request) say nothing about the provider's health; one tenant must not open the circuit for all.
  const breaker = circuitBreaker(
    handleWhen((error) => !(error instanceof OpenAI.APIUserAbortError) && !isCallersFault(error)),
    {
      halfOpenAfter: config.breakerResetMs,
      breaker: new ConsecutiveBreaker(config.breakerFailures),
    },
  );
  const limiter = createLimiter(config.concurrency);
  const stateNames: Record<CircuitState, BreakerState> = {
    [CircuitState.Closed]: 'closed',
    [CircuitState.Open]: 'open',
    [CircuitState.HalfOpen]: 'half-open',
    [CircuitState.Isolated]: 'open',
  };

  async function call<T>(
    fn: (api: OpenAI) => Promise<T>,
    signal?: AbortSignal,
    kind = 'chat',
  ): Promise<T> {
    if (!client)
      throw new JudgeUnavailableError(
        'No judge provider is configured: set EVALGRAPH_JUDGE_API_KEY (and EVALGRAPH_JUDGE_BASE_URL for a provider other than OpenAI).',
      );
    const started = Date.now();
    const timed = (outcome: string) =>
      timer?.observe({ provider, call: kind, outcome }, (Date.now() - started) / 1000);
    // Attempts with their waits in between, inside the breaker: a call counts once however often it was tried.
    const attempts = async () => {
      for (let retry = 0; ; retry++) {
        try {
          return await fn(client);
        } catch (error) {
          const delay =
            retry < config.maxRetries && !signal?.aborted ? retryDelayMs(error, retry) : null;
          if (delay === null) throw error;
          // An abort during the wait is the caller's, not the provider's failure (the breaker ignores it).
          await sleep(delay, undefined, { signal }).catch(() => {
            throw new OpenAI.APIUserAbortError();
          });
        }
      }
    };
    const running = limiter.run(() => breaker.execute(attempts), signal);
    try {
      // Whatever a library still waits for, an aborted call returns at once (the rest settles on its own).
      const result = await (signal ? untilAborted(running, signal) : running);
      timed('ok');
      return result;
    } catch (error) {
      timed(
        error instanceof BrokenCircuitError
          ? 'circuit_open'
          : signal?.aborted
            ? 'aborted'
            : 'error',
      );
      if (signal?.aborted)
        throw error instanceof OpenAI.APIUserAbortError ? error : new OpenAI.APIUserAbortError();
      if (error instanceof BrokenCircuitError)
        throw new JudgeUnavailableError(
          `The judge provider ${provider}'s circuit is open after ${config.breakerFailures} failed calls in a row; retrying after ${config.breakerResetMs} ms.`,
        );
      // The SDK does not always tell a timeout from a dropped connection; the clock does.
      if (
        error instanceof OpenAI.APIConnectionError &&
        !signal?.aborted &&
        Date.now() - started >= config.timeoutMs
      ) {
        throw new JudgeUnavailableError(
          `The judge provider ${provider} did not answer within ${config.timeoutMs} ms (timed out${config.maxRetries ? `, after ${config.maxRetries} retries` : ''}).`,
        );
      }
      throw error;
    }
  }

  return {
    name: provider,
    configured: client !== null,
    state: (): BreakerState => stateNames[breaker.state],

    async chat(
      request: ChatRequest & { model: string },
      signal?: AbortSignal,
    ): Promise<ChatResult> {
      const model = request.model;
      const response = await call(
        (api) =>
          api.chat.completions.create(
            {
              model,
              messages: request.messages,
              temperature: request.temperature,
              top_p: request.topP,
              seed: request.seed,
              max_tokens: request.maxTokens,
              n: request.n,
              logprobs: request.topLogprobs ? true : undefined,
              top_logprobs: request.topLogprobs || undefined,
              response_format: request.json ? { type: 'json_object' } : undefined,
            },
            { signal },
          ),
        signal,
      );
      return {
        model: response.model || model,
        provider,
        choices: response.choices.map((c) => ({
          text: c.message?.content ?? '',
          logprobs:
            c.logprobs?.content?.map((t) => ({
              token: t.token,
              logprob: t.logprob,
              top: (t.top_logprobs ?? []).map((a) => ({ token: a.token, logprob: a.logprob })),
            })) ?? null,
        })),
        usage: response.usage
          ? {
              inputTokens: response.usage.prompt_tokens ?? 0,
              outputTokens: response.usage.completion_tokens ?? 0,
            }
          : null,
      };
    },

    async embed(texts: string[], model: string, signal?: AbortSignal): Promise<EmbedResult> {
      // Floats, not the SDK's default base64: every OpenAI-compatible server speaks them.
      const response = await call(
        (api) =>
          api.embeddings.create({ model, input: texts, encoding_format: 'float' }, { signal }),
        signal,
        'embed',
      );
      const vectors = [...response.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      return {
        model: response.model || model,
        provider,
        vectors,
        usage: response.usage ? { inputTokens: response.usage.prompt_tokens ?? 0 } : null,
      };
    },
  };
}

/** `promise`, or a rejection as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(new OpenAI.APIUserAbortError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new OpenAI.APIUserAbortError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export type ProviderJudge = ReturnType<typeof createJudge>;
