// Abuse limits on every document, before it costs anything (graphql-armor): depth, aliases,
// tokens and directives; "Did you mean …?" suggestions hidden from callers without a key (they
// would map the schema for free; WebSocket callers always have one); introspection can be off.
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config';

// Not graphql-armor's block-field-suggestions: it rewrites validation errors in place, and Yoga
// caches validation results per document, so one anonymous caller would hide suggestions from
// every caller after it. Here the answer is rewritten per request, after the caches.
const hidden = (message: string) =>
  message.replace(/ ?Did you mean .+\?/g, ' [Suggestion hidden]').trim();

/** `hasValidKey(request)`: whether the request carries a valid API key (only such callers see suggestions). */
export function useAbuseLimits(
  limits: Config['limits'],
  hasValidKey: (request: Request) => Promise<boolean>,
): Plugin[] {
  // The rules made once (graphql-armor's plugins make each anew for every request, one hook each).
  const rules = [
    maxDepthRule({ n: limits.maxDepth, exposeLimits: true }),
    maxAliasesRule({ n: limits.maxAliases, exposeLimits: true }),
    maxDirectivesRule({ n: limits.maxDirectives, exposeLimits: true }),
    ...(limits.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
  ];
  return [
    maxTokensPlugin({ n: limits.maxTokens, exposeLimits: true }) as unknown as Plugin,
    {
      onValidate({ addValidationRule }) {
        for (const rule of rules) addValidationRule(rule);
      },
      async onResultProcess({ request, result, setResult }) {
        if (
          Array.isArray(result) ||
          !('errors' in result) ||
          !result.errors?.some((e) => /Did you mean /.test(e.message))
        )
          return;
        // Validation runs before the key is checked: a made-up key must not see them either.
        if (await hasValidKey(request)) return;
        setResult({
          ...result,
          errors: result.errors.map(
            (e) =>
              new GraphQLError(hidden(e.message), {
                nodes: e.nodes,
                source: e.source,
                positions: e.positions,
                path: e.path,
                extensions: e.extensions,
              }),
          ),
        });
      },
    },
  ];
}
