// The one normalisation of model names. Pricing matches prices on it; spans store it at ingest
// (spans.normalized_model) so that grouping and filtering by model happen in SQL; alert, trace
// and cost filters compare with it. The migration 20261205180823_unpriced_costs_and_normalized_model
// backfilled older spans with an SQL copy of these steps (test/model-name-backfill.test.ts checks
// that they agree): a change here needs a migration that recomputes the column.

// Hosting prefixes that come before the model's own name ("us.anthropic.claude-…" on Bedrock).
const VENDOR_DOT_PREFIX =
  /^((us|eu|apac|us-gov|global)\.)?(anthropic|meta|cohere|mistral|amazon|ai21|google|openai)\./;
const VERSION_SUFFIXES = [
  /-v\d+(:\d+)?$/, // Bedrock: -v2:0
  /-\d{4}-\d{2}-\d{2}$/, // gpt-4o-2024-08-06
  /-\d{2}-\d{4}$/, // command-r-plus-08-2024
  /-\d{8}$/, // claude-3-5-sonnet-20241022
  /-\d{3,4}$/, // gpt-4-0613, mistral-large-2411, gemini-1.5-pro-002
  /-latest$/,
  /-preview(-\d{2}-\d{2})?$/, // gemini-2.5-pro-preview-05-06
  /-exp$/,
];

/**
 * The family name of a model: lower case, without hosting prefixes ("openai/", "models/",
 * "anthropic."), routing suffixes (":free", "@20241022") and version or date suffixes.
 * `gpt-4o-2024-08-06` → `gpt-4o`, `anthropic.claude-3-5-sonnet-20241022-v2:0` → `claude-3-5-sonnet`.
 */
export function normaliseModelName(model: string): string {
  let name = recent.get(model);
  if (name === undefined) {
    // Ingest asks twice per span (its row and its price) for a handful of distinct names.
    if (recent.size >= 1_000) recent.clear();
    recent.set(model, (name = normalise(model)));
  }
  return name;
}

const recent = new Map<string, string>();

function normalise(model: string): string {
  let name = model.trim().toLowerCase();
  name = name.slice(name.lastIndexOf('/') + 1).replace(VENDOR_DOT_PREFIX, '');
  name = name.replace(/@.*$/, '');
  name = name.replace(/-v\d+:\d+$/, '').replace(/:.*$/, '');
  // Claude's versions are written with dots by some routers (claude-3.5-sonnet).
  if (name.startsWith('claude-')) name = name.replace(/(\d)\.(\d)/g, '$1-$2');
  for (let changed = true; changed; ) {
    changed = false;
    for (const suffix of VERSION_SUFFIXES) {
      const next = name.replace(suffix, '');
      if (next !== name && next.length > 0) {
        name = next;
        changed = true;
      }
    }
  }
  return name;
}
