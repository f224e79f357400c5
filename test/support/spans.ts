// Span inputs for tests, as a client would send them to ingestSpans.
import type { TestApp } from './app';
import { globalId } from './app';

export interface SpanJson {
  traceId: string;
  spanId: string;
  name: string;
  startTime: string;
  [field: string]: unknown;
}

let seq = 0;

/** A span with sensible defaults; `over` wins. Times are ISO strings. */
export function span(over: Partial<SpanJson> & { traceId: string }): SpanJson {
  seq += 1;
  return { spanId: `s${seq}`, name: `step ${seq}`, startTime: '2025-03-01T12:00:00.000Z', ...over };
}

export const INGEST = `mutation($input: IngestSpansInput!) {
  ingestSpans(input: $input) { acceptedCount rejectedCount traceCount errors { index field message } }
}`;

/** Sends spans to a project (raw id) and returns the response. */
export function ingest(
  app: TestApp,
  projectId: string,
  spans: unknown[],
  options: { partial?: boolean; key?: string } = {},
) {
  return app.gql(
    INGEST,
    {
      input: {
        projectId: globalId('Project', projectId),
        spans,
        partial: options.partial ?? false,
      },
    },
    { key: options.key },
  );
}
