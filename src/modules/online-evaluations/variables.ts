// Where a rule's grader variables come from: {{item.input}}, {{sample.output_text}} and
// {{item.expected_output}} from fields of the judged span (for a TRACE rule, its root span), and
// {{item.contexts}} (the RAG graders' contexts) from the outputs of the trace's RETRIEVER spans.
// Pure: the job loads the spans (task-sql.ts) and builds the item here.
import { z } from 'zod';
import type { GradingItem } from '../graders/template';
import { metadataValue } from './filter';

const FIELD = /^(input|output|name|metadata(\.[^.\s]+)*)$/;
const field = z
  .string()
  .trim()
  .max(300)
  .regex(FIELD, 'must name a span field: input, output, name, metadata or metadata.<key>');

export const variablesSchema = z
  .object({
    input: field.nullish().transform((v) => v ?? 'input'),
    output: field.nullish().transform((v) => v ?? 'output'),
    expectedOutput: field.nullish().transform((v) => v ?? null),
    contexts: z
      .enum(['RETRIEVER_OUTPUTS', 'NONE'])
      .nullish()
      .transform((v) => v ?? 'RETRIEVER_OUTPUTS'),
  })
  .strict();

export type Variables = z.output<typeof variablesSchema>;

export const DEFAULT_VARIABLES: Variables = variablesSchema.parse({});

/** A span as grading reads it. */
export interface LoadedSpan {
  external_id: string;
  kind: string;
  name: string;
  input: string | null;
  output: string | null;
  metadata: unknown;
}

/** The value of a span field named as the variables name them. */
function read(span: LoadedSpan, path: string): unknown {
  if (path === 'input') return span.input;
  if (path === 'output') return span.output;
  if (path === 'name') return span.name;
  if (path === 'metadata') return span.metadata;
  return metadataValue(span.metadata, path.slice('metadata.'.length)) ?? null;
}

/**
 * The contexts a retriever's output holds: a JSON list is one context per element (a string, or a
 * document's page_content / pageContent / content / text), anything else is one context.
 */
export function contextsOf(output: string | null): string[] {
  if (output === null || output === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    return [output];
  }
  if (!Array.isArray(parsed)) return [output];
  return parsed.map((doc) => {
    if (typeof doc === 'string') return doc;
    if (typeof doc === 'object' && doc !== null) {
      const d = doc as Record<string, unknown>;
      const text = d.page_content ?? d.pageContent ?? d.content ?? d.text;
      if (typeof text === 'string') return text;
    }
    return JSON.stringify(doc);
  });
}

/** The item graded for `subject`, with the trace's retriever spans in the order they started. */
export function gradingItemOf(
  variables: Variables,
  subject: LoadedSpan,
  retrievers: readonly LoadedSpan[],
): GradingItem {
  return {
    input: read(subject, variables.input),
    output: read(subject, variables.output),
    expectedOutput: variables.expectedOutput ? read(subject, variables.expectedOutput) : null,
    contexts:
      variables.contexts === 'NONE'
        ? []
        : retrievers
            .filter((r) => r.external_id !== subject.external_id)
            .flatMap((r) => contextsOf(r.output)),
    metadata: subject.metadata,
  };
}
