// The judge providers together: each call goes to the provider a grader names (`provider`), else
// to the first whose `models` list its model ("*" matches any). While that provider's circuit is
// open, or when its call fails with an outage after its retries, the call goes to its fallback
// (and on down the chain, which config-judges.ts checked ends). The result says which provider
// answered. Each provider keeps its own breaker, retries, concurrency and metrics (judge.ts).
import OpenAI from 'openai';
import type { Config } from '../../config';
import {
  type BreakerState,
  type ChatRequest,
  type ChatResult,
  createJudge,
  type EmbedResult,
  isTransient,
  type JudgeTimer,
  type ProviderJudge,
} from './judge';

/** No configured provider serves the model or has the name asked for (a refusal, not an outage). */
export class JudgeRouteError extends Error {}

/** What creation checks read: the names and which provider a model or name goes to. */
export interface JudgeRouting {
  configured: boolean;
  names: readonly string[];
  defaultModel: string;
  embeddingModel: string;
  /** The provider a call goes to first, or null when none serves it. */
  route(model: string, provider?: string): string | null;
}

export function createJudges(config: Config['judge'], timer?: JudgeTimer) {
  const providers = config.providers.map((p) => ({
    config: p,
    judge: createJudge(p, timer),
  }));
  const byName = new Map(providers.map((p) => [p.config.name, p]));
  const best: BreakerState[] = ['closed', 'half-open', 'open'];

  function route(model: string, provider?: string): string | null {
    if (provider !== undefined) return byName.has(provider) ? provider : null;
    const serving = providers.find(
      (p) => p.config.models.includes('*') || p.config.models.includes(model),
    );
    return serving?.config.name ?? null;
  }

  /** Runs `call` on the routed provider, then on its fallbacks while each is out. */
  async function routed<T>(
    model: string,
    provider: string | undefined,
    signal: AbortSignal | undefined,
    call: (judge: ProviderJudge) => Promise<T>,
  ): Promise<T> {
    const first = route(model, provider);
    if (first === null)
      throw new JudgeRouteError(
        provider !== undefined
          ? `no judge provider is named "${provider}" (configured: ${[...byName.keys()].join(', ')})`
          : `no judge provider serves the model "${model}"`,
      );
    for (let name = first; ; ) {
      const entry: { judge: ProviderJudge; config: { fallback: string | null } } =
        byName.get(name)!;
      // An open circuit refuses at once (JudgeUnavailableError), so trying it costs nothing.
      try {
        return await call(entry.judge);
      } catch (error) {
        if (signal?.aborted || error instanceof OpenAI.APIUserAbortError) throw error;
        if (!isTransient(error) || entry.config.fallback === null) throw error;
        name = entry.config.fallback;
      }
    }
  }

  const routing: JudgeRouting = {
    configured: providers.some((p) => p.judge.configured),
    names: providers.map((p) => p.config.name),
    defaultModel: config.model,
    embeddingModel: config.embeddingModel,
    route,
  };

  return {
    ...routing,
    /** Each provider's circuit, in configured order (readiness, the circuit gauge). */
    providers: () =>
      providers.map((p) => ({
        name: p.config.name,
        models: p.config.models,
        fallback: p.config.fallback,
        configured: p.judge.configured,
        circuit: p.judge.state(),
      })),
    /** The best circuit of all: open only when no provider would take a call. */
    state: (): BreakerState =>
      best[Math.min(...providers.map((p) => best.indexOf(p.judge.state())))],

    chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatResult> {
      const model = request.model ?? config.model;
      return routed(model, request.provider, signal, (judge) =>
        judge.chat({ ...request, model }, signal),
      );
    },

    embed(texts: string[], signal?: AbortSignal, provider?: string): Promise<EmbedResult> {
      const model = config.embeddingModel;
      return routed(model, provider, signal, (judge) => judge.embed(texts, model, signal));
    },
  };
}

export type Judge = ReturnType<typeof createJudges>;
