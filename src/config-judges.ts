// The judge providers: EVALGRAPH_JUDGE_PROVIDERS (JSON, named OpenAI-compatible providers, each
// with the models it serves and an optional fallback), or else the single-provider variables
// (EVALGRAPH_JUDGE_BASE_URL, EVALGRAPH_JUDGE_API_KEY), which make one provider named `default`
// serving every model. Setting both is refused: which one wins would be a guess. Pure.
import { z } from 'zod';

/** Providers are metric labels: their number and names are bounded here. */
export const MAX_JUDGE_PROVIDERS = 20;

const providerSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/, {
      message: 'expected 1 to 40 letters, digits, "_", "-" or ".", starting with a letter or digit',
    }),
    baseUrl: z
      .string()
      .refine((v) => /^https?:\/\/[^\s/]+/.test(v), { message: 'expected an http(s) URL' }),
    /** Optional: a local server (vLLM, Ollama) may need none. */
    apiKey: z.string().min(1).optional(),
    /** Models it serves; "*" any. */
    models: z.array(z.string().min(1).max(200)).min(1).max(200),
    fallback: z.string().min(1).optional(),
    concurrency: z.number().int().min(1).max(1_000).optional(),
    timeoutMs: z.number().int().min(100).max(600_000).optional(),
    maxRetries: z.number().int().min(0).max(10).optional(),
    breakerFailures: z.number().int().min(1).max(1_000).optional(),
    breakerResetMs: z.number().int().min(100).max(3_600_000).optional(),
  })
  .strict();

const providersSchema = z.array(providerSchema).min(1).max(MAX_JUDGE_PROVIDERS);

/** One provider, resolved: what it does not set comes from the EVALGRAPH_JUDGE_* tuning variables. */
export interface JudgeProviderConfig {
  name: string;
  baseUrl: string;
  /** null: not configured (single-provider mode without a key: LLM graders are refused); '': none needed. */
  apiKey: string | null;
  models: string[];
  fallback: string | null;
  concurrency: number;
  timeoutMs: number;
  maxRetries: number;
  breakerFailures: number;
  breakerResetMs: number;
}

export interface JudgeEnv {
  EVALGRAPH_JUDGE_PROVIDERS?: string;
  EVALGRAPH_JUDGE_BASE_URL?: string;
  EVALGRAPH_JUDGE_API_KEY?: string;
  EVALGRAPH_JUDGE_TIMEOUT_MS: number;
  EVALGRAPH_JUDGE_MAX_RETRIES: number;
  EVALGRAPH_JUDGE_CONCURRENCY: number;
  EVALGRAPH_JUDGE_BREAKER_FAILURES: number;
  EVALGRAPH_JUDGE_BREAKER_RESET_MS: number;
}

const VAR = 'EVALGRAPH_JUDGE_PROVIDERS';

const at = (path: PropertyKey[]) =>
  VAR + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');

/** The providers, or the problems (each naming its field: `EVALGRAPH_JUDGE_PROVIDERS[1].fallback`). */
export function judgeProviders(
  e: JudgeEnv,
): { providers: JudgeProviderConfig[]; problems: [] } | { providers: null; problems: string[] } {
  const defaults = {
    concurrency: e.EVALGRAPH_JUDGE_CONCURRENCY,
    timeoutMs: e.EVALGRAPH_JUDGE_TIMEOUT_MS,
    maxRetries: e.EVALGRAPH_JUDGE_MAX_RETRIES,
    breakerFailures: e.EVALGRAPH_JUDGE_BREAKER_FAILURES,
    breakerResetMs: e.EVALGRAPH_JUDGE_BREAKER_RESET_MS,
  };
  if (e.EVALGRAPH_JUDGE_PROVIDERS === undefined) {
    return {
      providers: [
        {
          name: 'default',
          baseUrl: e.EVALGRAPH_JUDGE_BASE_URL ?? 'https://api.openai.com/v1',
          apiKey: e.EVALGRAPH_JUDGE_API_KEY ?? null,
          models: ['*'],
          fallback: null,
          ...defaults,
        },
      ],
      problems: [],
    };
  }
  if (e.EVALGRAPH_JUDGE_BASE_URL !== undefined || e.EVALGRAPH_JUDGE_API_KEY !== undefined)
    return {
      providers: null,
      problems: [
        `${VAR}: set either it or EVALGRAPH_JUDGE_BASE_URL/EVALGRAPH_JUDGE_API_KEY, not both (give the single provider an entry of its own)`,
      ],
    };
  let raw: unknown;
  try {
    raw = JSON.parse(e.EVALGRAPH_JUDGE_PROVIDERS);
  } catch {
    return {
      providers: null,
      problems: [
        `${VAR}: expected a JSON list such as [{"name":"openai","baseUrl":"https://api.openai.com/v1","apiKey":"sk-…","models":["gpt-4o-mini"],"fallback":"local"},{"name":"local","baseUrl":"http://127.0.0.1:8000/v1","models":["*"]}]`,
      ],
    };
  }
  const parsed = providersSchema.safeParse(raw);
  // Messages name the field and never echo a value (a key may be among them).
  if (!parsed.success)
    return {
      providers: null,
      problems: parsed.error.issues.map((i) => `${at(i.path)}: ${i.message}`),
    };
  const list = parsed.data;
  const problems: string[] = [];
  const index = new Map<string, number>();
  list.forEach((p, i) => {
    if (index.has(p.name))
      problems.push(`${at([i, 'name'])}: "${p.name}" is the name of provider ${index.get(p.name)}`);
    else index.set(p.name, i);
  });
  list.forEach((p, i) => {
    if (p.fallback !== undefined && !index.has(p.fallback))
      problems.push(`${at([i, 'fallback'])}: no provider is named "${p.fallback}"`);
  });
  if (!problems.length) {
    // A chain of fallbacks must end: a cycle would pass a failing call round for ever.
    list.forEach((p, i) => {
      const chain = [p.name];
      for (let next = p.fallback; next !== undefined; next = list[index.get(next)!].fallback) {
        if (chain.includes(next)) {
          if (next === p.name)
            problems.push(
              `${at([i, 'fallback'])}: the fallbacks go round in a cycle (${[...chain, next].join(' → ')})`,
            );
          break;
        }
        chain.push(next);
      }
    });
  }
  if (problems.length) return { providers: null, problems };
  return {
    providers: list.map((p) => ({
      ...defaults,
      ...p,
      apiKey: p.apiKey ?? '',
      fallback: p.fallback ?? null,
    })),
    problems: [],
  };
}
