import { normaliseModelName } from './model-name';

describe('normaliseModelName', () => {
  it.each([
    ['gpt-4o-2024-08-06', 'gpt-4o'],
    ['GPT-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['openai/gpt-4.1-mini', 'gpt-4.1-mini'],
    ['gpt-4-0613', 'gpt-4'],
    ['claude-3-5-sonnet-20241022', 'claude-3-5-sonnet'],
    ['claude-3.5-sonnet', 'claude-3-5-sonnet'],
    ['claude-3-5-sonnet-latest', 'claude-3-5-sonnet'],
    ['anthropic.claude-3-5-sonnet-20241022-v2:0', 'claude-3-5-sonnet'],
    ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'claude-sonnet-4-5'],
    ['claude-3-5-sonnet-v2@20241022', 'claude-3-5-sonnet'],
    ['models/gemini-1.5-pro-002', 'gemini-1.5-pro'],
    ['gemini-2.5-pro-preview-05-06', 'gemini-2.5-pro'],
    ['mistral-large-2411', 'mistral-large'],
    ['command-r-plus-08-2024', 'command-r-plus'],
    ['meta-llama/llama-3.3-70b:free', 'llama-3.3-70b'],
    ['GPT-4o-Mini', 'gpt-4o-mini'],
    ['azure/gpt-4o', 'gpt-4o'],
    ['bedrock/anthropic.claude-3-haiku-20240307-v1:0', 'claude-3-haiku'],
    ['gpt-4o-20240806', 'gpt-4o'],
    ['gpt-4o@2024-08-06', 'gpt-4o'],
    ['  my-local-llama ', 'my-local-llama'],
  ])('%s → %s', (raw, family) => {
    expect(normaliseModelName(raw)).toBe(family);
  });
});
