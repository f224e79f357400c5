// `first`/`last` outside 1..100 on any connection: BAD_USER_INPUT before the operation is costed
// or run (modules/ratelimit/page-size.ts). Over HTTP and graphql-ws alike (both execute here).
import { BREAK, visit, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { pageSizeError } from '../modules/ratelimit/page-size';

// Documents are parsed once per text (Yoga's cache): most have no first/last and need no walk
// (a directive's argument so named only costs one).
const mentionsPage = new WeakMap<DocumentNode, boolean>();
function hasPageArguments(document: DocumentNode): boolean {
  let found = mentionsPage.get(document);
  if (found === undefined) {
    found = false;
    visit(document, {
      Argument(node) {
        if (node.name.value !== 'first' && node.name.value !== 'last') return;
        found = true;
        return BREAK;
      },
    });
    mentionsPage.set(document, found);
  }
  return found;
}

export function usePageLimits(): Plugin {
  const check = (args: {
    schema: Parameters<typeof pageSizeError>[0];
    document: DocumentNode;
    variableValues?: Record<string, unknown> | null;
    operationName?: string | null;
  }) =>
    hasPageArguments(args.document)
      ? pageSizeError(args.schema, args.document, args.variableValues, args.operationName)
      : null;
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = check(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = check(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
