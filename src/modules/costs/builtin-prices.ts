// The prices shipped with the code: list prices in USD per 1M tokens, as decimal strings.
//
// The prices were entered from the providers' public price pages as of each entry's sourceDate.
// They were written down from knowledge of those pages, without network access here. They must be
// reviewed when providers change prices: add a row with a new startDate and do not edit the old one,
// so that calls from before the change keep their price.
//
// Conventions:
// - modelName is a family name and a fixed point of normaliseModelName: dated and pinned versions
//   (gpt-4o-2024-08-06, claude-3-5-sonnet-20241022, mistral-large-2411) fold into it.
// - matchPattern is used where one family has several spellings (hosted Llama names, Azure's
//   gpt-35-turbo, Bedrock's cohere.embed-english-v3). A pattern only wins over an exact family
//   match at the same startDate if that family has no exact row, so patterns must not match
//   another row's modelName. The unit test checks this.
// - cachedInput is the price of prompt-cache reads. Cache writes (Anthropic's 1.25x input) and
//   storage (Google) are not modelled. It is null when the provider sells no cached price.
// - Pinned versions that kept an older price after the family price changed (gpt-4o-2024-05-13 at
//   $5/$15, command-r-plus-04-2024 at $3/$15, command-r-03-2024 at $0.50/$1.50) are priced like
//   their family: a modelName cannot hold a dated name. Add a per-project price if that matters.
import type { Price } from './pricing';

export interface BuiltinPrice {
  provider: 'openai' | 'anthropic' | 'google' | 'mistral' | 'meta' | 'cohere';
  /** normalised family name (a fixed point of normaliseModelName) */
  modelName: string;
  /** optional regex over the normalised name, for families with many spellings (e.g. llama hosted names with -instruct / -turbo) */
  matchPattern?: string;
  /** 'YYYY-MM-DD' from when this price applies; '1970-01-01' when it is the only known price */
  startDate: string;
  /** USD per 1M tokens, as decimal strings (never floats) */
  input: string;
  output: string;
  /** USD per 1M cached input tokens (prompt-cache reads), or null when the provider has none */
  cachedInput: string | null;
  /** 'YYYY-MM-DD' the day the price was read from the provider's price page */
  sourceDate: string;
}

type Provider = BuiltinPrice['provider'];
type Extra = Partial<Pick<BuiltinPrice, 'matchPattern' | 'startDate' | 'sourceDate'>>;

const EPOCH = '1970-01-01';
/** The date of the price pages that the current prices were taken from. */
const AS_OF = '2025-11-25';
/** For models that have left the price pages (retired or deprecated) and were last read then. */
const RETIRED_AS_OF = '2025-06-01';

function row(
  provider: Provider,
  modelName: string,
  input: string,
  output: string,
  cachedInput: string | null,
  extra: Extra = {},
): BuiltinPrice {
  const { matchPattern, startDate = EPOCH, sourceDate = AS_OF } = extra;
  return Object.freeze({
    provider,
    modelName,
    ...(matchPattern ? { matchPattern } : {}),
    startDate,
    input,
    output,
    cachedInput,
    sourceDate,
  });
}

const openai = (m: string, input: string, output: string, cached: string | null, x?: Extra) =>
  row('openai', m, input, output, cached, x);
const anthropic = (m: string, input: string, output: string, cached: string | null, x?: Extra) =>
  row('anthropic', m, input, output, cached, x);
const google = (m: string, input: string, output: string, cached: string | null, x?: Extra) =>
  row('google', m, input, output, cached, x);
const mistral = (m: string, input: string, output: string, cached: string | null, x?: Extra) =>
  row('mistral', m, input, output, cached, x);
const meta = (m: string, input: string, output: string, cached: string | null, x?: Extra) =>
  row('meta', m, input, output, cached, x);
const cohere = (m: string, input: string, output: string, cached: string | null, x?: Extra) =>
  row('cohere', m, input, output, cached, x);

/** A pattern for hosted Llama names: `llama-3.3-70b`, `meta-llama-3.3-70b-instruct-turbo`
 * (Together), `llama3-3-70b-instruct` (Bedrock `meta.llama3-3-70b-instruct-v1:0`),
 * `llama-v3p3-70b-instruct` (Fireworks), `llama-3.3-70b-versatile` (Groq). */
const llama = (version: string, size: string) => {
  const v = version.split('.').join('[.p-]');
  return `^(meta-)?llama-?v?${v}-${size}(-|$)`;
};

// prettier-ignore
export const BUILTIN_PRICES: readonly BuiltinPrice[] = Object.freeze([
  // ── OpenAI (platform.openai.com/docs/pricing, Standard tier) ─ model, input, output, cached input
  openai('gpt-5.1', '1.25', '10.00', '0.125'),
  openai('gpt-5', '1.25', '10.00', '0.125'),
  openai('gpt-5-chat', '1.25', '10.00', '0.125'), // gpt-5-chat-latest
  openai('gpt-5-codex', '1.25', '10.00', '0.125'),
  openai('gpt-5-mini', '0.25', '2.00', '0.025'),
  openai('gpt-5-nano', '0.05', '0.40', '0.005'),
  openai('gpt-5-pro', '15.00', '120.00', null),
  openai('gpt-4.1', '2.00', '8.00', '0.50'),
  openai('gpt-4.1-mini', '0.40', '1.60', '0.10'),
  openai('gpt-4.1-nano', '0.10', '0.40', '0.025'),
  openai('gpt-4.5', '75.00', '150.00', '37.50', { sourceDate: RETIRED_AS_OF }), // gpt-4.5-preview, removed 2025-07-14
  // gpt-4o: $5/$15 for gpt-4o-2024-05-13; gpt-4o-2024-08-06 came at $2.50/$10 (the `gpt-4o` alias
  // moved to it on 2024-10-02; prompt caching started 2024-10-01).
  openai('gpt-4o', '5.00', '15.00', null, { sourceDate: '2024-08-01' }),
  openai('gpt-4o', '2.50', '10.00', '1.25', { startDate: '2024-08-06' }),
  openai('chatgpt-4o', '5.00', '15.00', null), // chatgpt-4o-latest
  openai('gpt-4o-mini', '0.15', '0.60', '0.075'),
  openai('o1', '15.00', '60.00', '7.50'), // o1-preview folds into o1, same price
  openai('o1-pro', '150.00', '600.00', null),
  openai('o1-mini', '1.10', '4.40', '0.55'),
  // o3: cut by 80% on 2025-06-10.
  openai('o3', '10.00', '40.00', '2.50', { sourceDate: '2025-06-01' }),
  openai('o3', '2.00', '8.00', '0.50', { startDate: '2025-06-10' }),
  openai('o3-pro', '20.00', '80.00', null),
  openai('o3-mini', '1.10', '4.40', '0.55'),
  openai('o4-mini', '1.10', '4.40', '0.275'),
  openai('codex-mini', '1.50', '6.00', '0.375'), // codex-mini-latest
  // GPT-4 Turbo, including the gpt-4-1106-preview / gpt-4-0125-preview / gpt-4-vision-preview names
  // that normaliseModelName folds into `gpt-4`. Its startDate is its launch (DevDay, 2023-11-06)
  // so that this pattern row wins over the exact `gpt-4` row for those names.
  openai('gpt-4-turbo', '10.00', '30.00', null, {
    startDate: '2023-11-06',
    matchPattern: '(^|/)gpt-4-(turbo|vision|1106|0125)(-|$)',
  }),
  openai('gpt-4', '30.00', '60.00', null),
  openai('gpt-4-32k', '60.00', '120.00', null),
  // gpt-3.5-turbo-0125 price; Azure spells it gpt-35-turbo.
  openai('gpt-3.5-turbo', '0.50', '1.50', null, { matchPattern: '^gpt-3\\.?5-turbo$' }),
  openai('text-embedding-3-small', '0.02', '0', null),
  openai('text-embedding-3-large', '0.13', '0', null),
  openai('text-embedding-ada', '0.10', '0', null), // text-embedding-ada-002

  // ── Anthropic (claude.com/pricing) ─ cached input = cache-read price (0.1x input)
  anthropic('claude-opus-4-5', '5.00', '25.00', '0.50'),
  anthropic('claude-opus-4-1', '15.00', '75.00', '1.50'),
  anthropic('claude-opus-4', '15.00', '75.00', '1.50', { matchPattern: '^claude-opus-4(-0)?$' }), // alias claude-opus-4-0
  anthropic('claude-sonnet-4-5', '3.00', '15.00', '0.30'), // prompts <= 200k tokens
  anthropic('claude-sonnet-4', '3.00', '15.00', '0.30', { matchPattern: '^claude-sonnet-4(-0)?$' }), // alias claude-sonnet-4-0
  anthropic('claude-3-7-sonnet', '3.00', '15.00', '0.30'),
  anthropic('claude-3-5-sonnet', '3.00', '15.00', '0.30', { sourceDate: RETIRED_AS_OF }),
  anthropic('claude-haiku-4-5', '1.00', '5.00', '0.10'),
  anthropic('claude-3-5-haiku', '0.80', '4.00', '0.08'),
  anthropic('claude-3-opus', '15.00', '75.00', '1.50'),
  anthropic('claude-3-haiku', '0.25', '1.25', '0.03'),

  // ── Google Gemini API (ai.google.dev/gemini-api/docs/pricing, paid tier) ─ text/image/video input.
  // Models with two tiers use the prompts <= 200k tokens tier (<= 128k for Gemini 1.5). Longer
  // prompts cost more and are not modelled. Cached input = the context-caching price without storage.
  google('gemini-3-pro', '2.00', '12.00', '0.20'), // gemini-3-pro-preview
  google('gemini-2.5-pro', '1.25', '10.00', '0.125'),
  google('gemini-2.5-flash', '0.30', '2.50', '0.03'),
  google('gemini-2.5-flash-lite', '0.10', '0.40', '0.01'),
  google('gemini-2.0-flash', '0.10', '0.40', '0.025'),
  google('gemini-2.0-flash-lite', '0.075', '0.30', null),
  // Gemini 1.5 Pro: $3.50/$10.50 cut to $1.25/$5.00 from 2024-10-01 (prompts <= 128k).
  google('gemini-1.5-pro', '3.50', '10.50', null, { sourceDate: '2024-09-01' }),
  google('gemini-1.5-pro', '1.25', '5.00', '0.3125', {
    startDate: '2024-10-01',
    sourceDate: RETIRED_AS_OF,
  }),
  // Gemini 1.5 Flash: $0.35/$1.05 cut to $0.075/$0.30 from 2024-08-12 (prompts <= 128k).
  google('gemini-1.5-flash', '0.35', '1.05', null, { sourceDate: '2024-08-01' }),
  google('gemini-1.5-flash', '0.075', '0.30', '0.01875', {
    startDate: '2024-08-12',
    sourceDate: RETIRED_AS_OF,
  }),
  google('gemini-1.5-flash-8b', '0.0375', '0.15', '0.01', { sourceDate: RETIRED_AS_OF }),
  google('gemini-embedding', '0.15', '0', null), // gemini-embedding-001

  // ── Mistral (mistral.ai/pricing, La Plateforme) ─ no prompt-cache price
  mistral('mistral-large', '2.00', '6.00', null), // mistral-large-2411
  mistral('mistral-medium', '0.40', '2.00', null), // Mistral Medium 3 (2505 / 2508)
  mistral('mistral-small', '0.10', '0.30', null), // Mistral Small 3.x
  mistral('magistral-medium', '2.00', '5.00', null),
  mistral('magistral-small', '0.50', '1.50', null),
  mistral('devstral-medium', '0.40', '2.00', null),
  mistral('devstral-small', '0.10', '0.30', null),
  mistral('codestral', '0.30', '0.90', null),
  mistral('ministral-8b', '0.10', '0.10', null),
  mistral('ministral-3b', '0.04', '0.04', null),
  mistral('pixtral-large', '2.00', '6.00', null),
  mistral('pixtral-12b', '0.15', '0.15', null),
  mistral('open-mistral-nemo', '0.15', '0.15', null, {
    matchPattern: '^(open-)?mistral-nemo(-|$)',
  }),
  mistral('mistral-saba', '0.20', '0.60', null),
  mistral('mistral-embed', '0.10', '0', null),

  // ── Meta Llama ─ Meta sells no API access: these are Together AI's list prices
  // (together.ai/pricing, serverless "Instruct Turbo" endpoints). Other hosts (Bedrock, Groq,
  // Fireworks) charge differently but match the same family; set per-project prices for them.
  meta('llama-4-maverick', '0.27', '0.85', null, {
    matchPattern: '^(meta-)?llama-?4-maverick(-|$)',
  }),
  meta('llama-4-scout', '0.18', '0.59', null, { matchPattern: '^(meta-)?llama-?4-scout(-|$)' }),
  meta('llama-3.3-70b', '0.88', '0.88', null, { matchPattern: llama('3.3', '70b') }),
  meta('llama-3.2-3b', '0.06', '0.06', null, { matchPattern: llama('3.2', '3b') }),
  meta('llama-3.1-405b', '3.50', '3.50', null, { matchPattern: llama('3.1', '405b') }),
  meta('llama-3.1-70b', '0.88', '0.88', null, { matchPattern: llama('3.1', '70b') }),
  meta('llama-3.1-8b', '0.18', '0.18', null, { matchPattern: llama('3.1', '8b') }),

  // ── Cohere (cohere.com/pricing) ─ no prompt-cache price
  cohere('command-a', '2.50', '10.00', null), // command-a-03-2025
  cohere('command-r-plus', '2.50', '10.00', null), // command-r-plus-08-2024
  cohere('command-r', '0.15', '0.60', null), // command-r-08-2024
  cohere('command-r7b', '0.0375', '0.15', null), // command-r7b-12-2024
  // Embeddings. Bedrock's cohere.embed-english-v3 normalises to `embed-english` (its -v3 is read as
  // a Bedrock revision) and cohere.embed-v4:0 to `embed`, hence the patterns.
  cohere('embed-v4.0', '0.12', '0', null, { matchPattern: '^embed(-v4(\\.0)?)?$' }),
  cohere('embed-english-v3.0', '0.10', '0', null, { matchPattern: '^embed-english(-v3(\\.0)?)?$' }),
  cohere('embed-multilingual-v3.0', '0.10', '0', null, {
    matchPattern: '^embed-multilingual(-v3(\\.0)?)?$',
  }),
]);

/** A built-in price as pricing uses it, with what the price list shows besides. */
export interface BuiltinPriceRow extends Price {
  id: string;
  provider: string;
  sourceDate: Date;
}

function toPrice(p: BuiltinPrice): BuiltinPriceRow {
  return Object.freeze({
    id: `builtin:${p.modelName}@${p.startDate}`,
    projectId: null,
    provider: p.provider,
    modelName: p.modelName,
    matchPattern: p.matchPattern ?? null,
    startDate: new Date(`${p.startDate}T00:00:00.000Z`),
    inputPrice: p.input,
    outputPrice: p.output,
    cachedInputPrice: p.cachedInput,
    sourceDate: new Date(`${p.sourceDate}T00:00:00.000Z`),
  });
}

let prices: readonly BuiltinPriceRow[] | undefined;

/** The built-in list as pricing.ts `Price` objects (projectId null, Date startDate), built once. */
export function builtinPrices(): readonly BuiltinPriceRow[] {
  // Frozen, so callers cannot corrupt the shared list (the hot path takes it once per batch, uncopied).
  prices ??= Object.freeze(BUILTIN_PRICES.map(toPrice));
  return prices;
}
