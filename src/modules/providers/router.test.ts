import type { JudgeProviderConfig } from '../../config-judges';
import { createJudges, JudgeRouteError } from './router';

const provider = (name: string, models: string[], fallback: string | null = null) =>
  ({
    name,
    baseUrl: 'http://127.0.0.1:9/v1',
    apiKey: '',
    models,
    fallback,
    concurrency: 1,
    timeoutMs: 1_000,
    maxRetries: 0,
    breakerFailures: 1,
    breakerResetMs: 60_000,
  }) satisfies JudgeProviderConfig;

const judges = createJudges({
  model: 'gpt-4o-mini',
  embeddingModel: 'text-embedding-3-small',
  providers: [
    provider('openai', ['gpt-4o', 'gpt-4o-mini', 'text-embedding-3-small'], 'local'),
    provider('anthropic', ['claude-3-5-sonnet']),
    provider('local', ['*']),
  ],
});

describe('createJudges', () => {
  it('routes a model to the first provider listing it, "*" matching any; a name to its provider', () => {
    expect(judges.route('gpt-4o')).toBe('openai');
    expect(judges.route('claude-3-5-sonnet')).toBe('anthropic');
    expect(judges.route('llama-3')).toBe('local');
    expect(judges.route('gpt-4o', 'local')).toBe('local');
    expect(judges.route('gpt-4o', 'nobody')).toBeNull();
    expect(judges.names).toEqual(['openai', 'anthropic', 'local']);
  });

  it('refuses a call to an unknown provider without calling anyone', async () => {
    await expect(
      judges.chat({ provider: 'nobody', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toBeInstanceOf(JudgeRouteError);
    expect(judges.providers().map((p) => p.circuit)).toEqual(['closed', 'closed', 'closed']);
  });

  it('reports the best circuit of all: closed while any provider is', () => {
    expect(judges.state()).toBe('closed');
    expect(judges.configured).toBe(true);
  });
});
