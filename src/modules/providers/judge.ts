// The judge provider: an OpenAI-compatible chat completions and embeddings API through the
// `openai` SDK (configurable base URL and key, so OpenAI, Azure, vLLM, Ollama or LiteLLM all
// work). The SDK times out and retries 408/409/429/5xx with backoff honouring Retry-After;
// cockatiel adds a concurrency limit (bulkhead) and a circuit breaker around whole calls.
import { BrokenCircuitError, bulkhead, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, wrap } from 'cockatiel';
import OpenAI from 'openai';
import type { Config } from '../../config';

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  model?: string;
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
  choices: { text: string; logprobs: TokenLogprobs[] | null }[];
  usage: { inputTokens: number; outputTokens: number };
}

export interface EmbedResult {
  model: string;
  vectors: number[][];
  usage: { inputTokens: number };
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export class JudgeUnavailableError extends Error {}

const isCallersFault = (error: unknown) => error instanceof OpenAI.APIError && typeof error.status === 'number' && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;

/** Failures worth trying again later (provider down, overloaded, timing out), as opposed to a bad request or answer. */
export const isTransient = (error: unknown) =>
  error instanceof JudgeUnavailableError || error instanceof OpenAI.APIConnectionError || (error instanceof OpenAI.APIError && !isCallersFault(error));

/** Where judge calls are timed (evalgraph_judge_request_seconds). */
export interface JudgeTimer {
  observe(labels: { provider: string; call: string; outcome: string }, seconds: number): void;
}

export function createJudge(config: Config['judge'], timer?: JudgeTimer) {
  // The provider label is the configured host: one value per deployment.
  const provider = (() => {
    try {
      return new URL(config.baseUrl).host;
    } catch {
      return 'unknown';
    }
  })();
  const client = config.apiKey
    ? new OpenAI({ baseURL: config.baseUrl, apiKey: config.apiKey, timeout: config.timeoutMs, maxRetries: config.maxRetries })
    : null;
  // Aborted calls (a canceled evaluation) and the caller's own mistakes (4xx: unknown model, bad
  // request) say nothing about the provider's health; one tenant must not open the circuit for all.
  const breaker = circuitBreaker(
    handleWhen((error) => !(error instanceof OpenAI.APIUserAbortError) && !isCallersFault(error)),
    { halfOpenAfter: config.breakerResetMs, breaker: new ConsecutiveBreaker(config.breakerFailures) },
  );
  const policy = wrap(bulkhead(config.concurrency, Number.MAX_SAFE_INTEGER), breaker);
  const stateNames: Record<CircuitState, BreakerState> = {
    [CircuitState.Closed]: 'closed',
    [CircuitState.Open]: 'open',
    [CircuitState.HalfOpen]: 'half-open',
    [CircuitState.Isolated]: 'open',
  };

  async function call<T>(fn: (api: OpenAI) => Promise<T>, signal?: AbortSignal, kind = 'chat'): Promise<T> {
    if (!client) throw new JudgeUnavailableError('No judge provider is configured: set EVALGRAPH_JUDGE_API_KEY (and EVALGRAPH_JUDGE_BASE_URL for a provider other than OpenAI).');
    const started = Date.now();
    const timed = (outcome: string) => timer?.observe({ provider, call: kind, outcome }, (Date.now() - started) / 1000);
    try {
      const result = await policy.execute(() => fn(client), signal);
      timed('ok');
      return result;
    } catch (error) {
      timed(error instanceof BrokenCircuitError ? 'circuit_open' : signal?.aborted ? 'aborted' : 'error');
      if (error instanceof BrokenCircuitError) throw new JudgeUnavailableError(`The judge provider's circuit is open after ${config.breakerFailures} failed calls in a row; retrying after ${config.breakerResetMs} ms.`);
      // The SDK does not always tell a timeout from a dropped connection; the clock does.
      if (error instanceof OpenAI.APIConnectionError && !signal?.aborted && Date.now() - started >= config.timeoutMs) {
        throw new JudgeUnavailableError(`The judge provider did not answer within ${config.timeoutMs} ms (timed out${config.maxRetries ? `, after ${config.maxRetries} retries` : ''}).`);
      }
      throw error;
    }
  }

  return {
    configured: client !== null,
    defaultModel: config.model,
    embeddingModel: config.embeddingModel,
    state: (): BreakerState => stateNames[breaker.state],

    async chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatResult> {
      const model = request.model ?? config.model;
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
        choices: response.choices.map((c) => ({
          text: c.message?.content ?? '',
          logprobs: c.logprobs?.content?.map((t) => ({ token: t.token, logprob: t.logprob, top: (t.top_logprobs ?? []).map((a) => ({ token: a.token, logprob: a.logprob })) })) ?? null,
        })),
        usage: { inputTokens: response.usage?.prompt_tokens ?? 0, outputTokens: response.usage?.completion_tokens ?? 0 },
      };
    },

    async embed(texts: string[], signal?: AbortSignal): Promise<EmbedResult> {
      const model = config.embeddingModel;
      // Floats, not the SDK's default base64: every OpenAI-compatible server speaks them.
      const response = await call((api) => api.embeddings.create({ model, input: texts, encoding_format: 'float' }, { signal }), signal, 'embed');
      const vectors = [...response.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      return { model: response.model || model, vectors, usage: { inputTokens: response.usage?.prompt_tokens ?? 0 } };
    },
  };
}

export type Judge = ReturnType<typeof createJudge>;
