// What `serve` prints when it starts: where the API is and, on the first start, what a new user
// needs in their first minute: the admin key (once), GraphiQL, the default project's id and a
// curl command that ingests one span into it over OTLP.
import { randomBytes } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';

export interface BannerInput {
  /** The API's base URL, e.g. http://127.0.0.1:4000 */
  base: string;
  created: string[];
  adminEmail: string | null;
  /** Set only on the first start, when the key was generated now. */
  generatedKey: string | null;
  /** The default project's raw id, when there is one. */
  projectId: string | null;
  now: Date;
}

export function startBanner({
  base,
  created,
  adminEmail,
  generatedKey,
  projectId,
  now,
}: BannerInput): string {
  const lines = [`Evalgraph API on ${base}/graphql (open it in a browser for GraphiQL)`];
  if (created.length) lines.push(`First start: created ${created.join(', ')}.`);
  if (generatedKey) {
    lines.push(
      `Admin API key for ${adminEmail} (shown once; store it now):\n\n    ${generatedKey}\n`,
    );
    lines.push('Send it as the header  Authorization: Bearer <key>');
    lines.push(
      `GraphiQL: ${base}/graphql  (Headers tab: { "Authorization": "Bearer <key>" }, then run query Viewer)`,
    );
    if (projectId) {
      const project = encodeGlobalID('Project', projectId);
      lines.push(`Default project id: ${project}`);
      lines.push(
        `Send one span to it over OTLP:\n\n${otlpCurl(base, generatedKey, project, now)}\n`,
      );
    }
  }
  return lines.join('\n');
}

/** A curl command that ingests one LLM span (a model and its token usage) into the project. */
function otlpCurl(base: string, key: string, project: string, now: Date): string {
  const start = BigInt(now.getTime()) * 1_000_000n;
  const span = {
    traceId: randomHex(16),
    spanId: randomHex(8),
    name: 'hello evalgraph',
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + 850_000_000n),
    attributes: [
      { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
      { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
      { key: 'gen_ai.usage.input_tokens', value: { intValue: 12 } },
      { key: 'gen_ai.usage.output_tokens', value: { intValue: 34 } },
    ],
  };
  const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
  return [
    `    curl -sS ${base}/v1/traces \\`,
    `      -H 'Authorization: Bearer ${key}' \\`,
    `      -H 'x-evalgraph-project: ${project}' \\`,
    `      -H 'content-type: application/json' \\`,
    `      -d '${body}'`,
  ].join('\n');
}

const randomHex = (bytes: number) => randomBytes(bytes).toString('hex');
