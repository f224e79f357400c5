// Grader templates in the OpenAI Evals syntax: `{{item.field}}` reads the item being graded,
// `{{sample.output_text}}` the output under test. Pure.

export interface GradingItem {
  input: unknown;
  expectedOutput: unknown;
  /** The output of the application under test. */
  output: unknown;
  contexts: string[];
  metadata: unknown;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w.]*)\s*\}\}/g;

/** Text of a value: strings as they are, everything else as JSON ('' for nothing). */
export function asText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The namespaces a template can read, in OpenAI Evals' names (and ours). */
function scope(item: GradingItem): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    input: item.input,
    expected_output: item.expectedOutput,
    expectedOutput: item.expectedOutput,
    output: item.output,
    contexts: item.contexts,
    metadata: item.metadata,
  };
  return { item: fields, sample: { output_text: asText(item.output), output: item.output } };
}

function lookup(root: Record<string, unknown>, path: string): unknown {
  const [head, ...rest] = path.split('.');
  let value: unknown = root[head];
  for (const [i, key] of rest.entries()) {
    // Items moved from OpenAI Evals name their fields directly (`item.question`); ours keep them in `input`.
    if (i === 0 && head === 'item' && isObject(value) && !(key in value) && isObject(value.input))
      value = value.input;
    value =
      isObject(value) || Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The template with its placeholders filled in from `item`. */
export function render(template: string, item: GradingItem): string {
  const root = scope(item);
  return template.replace(PLACEHOLDER, (_m, path: string) => asText(lookup(root, path)));
}

/**
 * Placeholders that name nothing a template can read (checked when an evaluation is created):
 * outside the namespaces `readable` (the messages that generate an output read the item only).
 */
export function unknownPlaceholders(
  template: string,
  readable: readonly string[] = ['item', 'sample'],
): string[] {
  const bad: string[] = [];
  for (const [, path] of template.matchAll(PLACEHOLDER))
    if (!readable.includes(path.split('.')[0])) bad.push(path);
  return bad;
}
