// A key whose role may only do a few things (FEEDBACK: send end-user feedback from a web app, where
// anyone can read the key) runs operations made of those root fields only. Checked per operation
// before it is costed or run, over HTTP and graphql-ws alike, so not even `viewer` (the owner's
// email, their projects) answers it.
import { getOperationAST, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context';
import { forbidden } from '../errors';
import { KEY_ROLE_FIELDS } from '../modules/auth/permissions';

function refusal(
  ctx: Pick<Context, 'principal'>,
  document: DocumentNode,
  operationName?: string | null,
) {
  const role = ctx.principal?.keyRole;
  const allowed = role ? KEY_ROLE_FIELDS[role] : undefined;
  if (!allowed) return null;
  const operation = getOperationAST(document, operationName);
  const fields = operation?.selectionSet.selections ?? [];
  const ok =
    operation?.operation === 'mutation' &&
    fields.every(
      (s) => s.kind === 'Field' && (allowed.has(s.name.value) || s.name.value === '__typename'),
    );
  return ok ? null : forbidden(`A ${role} key may only run ${[...allowed].join(' and ')}.`);
}

export function useKeyRoleFields(): Plugin<Context> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = refusal(args.contextValue, args.document, args.operationName);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = refusal(args.contextValue, args.document, args.operationName);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
