// registerPersistedOperations: adds documents to a project's trusted list (needs `manage`, the
// project's ADMIN role; without a project, for every project, instance admins only). Each document is parsed
// and validated against the schema first; it is still validated and costed at every run.
import {
  Kind,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import { appError, badInput, forbidden } from '../../errors';
import { exceedsBytes } from '../../lib/query-size';
import { builder } from '../../schema/builder';
import { authorize } from '../auth/access';
import { isInstanceAdmin } from '../auth/permissions';
import { ProjectRef } from '../projects/schema';
import { recordAudit } from '../audit/record';

const MAX_PER_CALL = 100;
const MAX_PER_PROJECT = 10_000;

/** The document's operation names, or a BAD_USER_INPUT error at its index. */
function checkDocument(
  schema: GraphQLSchema,
  text: string,
  index: number,
  limits: { maxTokens: number; maxQueryBytes: number },
): string[] {
  const path = ['input', 'operations', index];
  // The longest query this server runs (EVALGRAPH_MAX_QUERY_BYTES), stored or not: checked before parsing.
  if (exceedsBytes(text, limits.maxQueryBytes))
    throw badInput(
      `Operation ${index} is larger than ${limits.maxQueryBytes} bytes, the longest query this server runs.`,
      path,
    );
  let document: DocumentNode;
  try {
    document = parse(text, { maxTokens: limits.maxTokens });
  } catch (error) {
    throw badInput(`Operation ${index} does not parse: ${(error as Error).message}`, path);
  }
  const errors = validate(schema, document, specifiedRules);
  if (errors.length) throw badInput(`Operation ${index} is not valid: ${errors[0].message}`, path);
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!operations.length)
    throw badInput(`Operation ${index} has no operation, only fragments.`, path);
  return operations.map((o) => o.name?.value ?? '(anonymous)');
}

const PersistedOperationRef = builder
  .objectRef<{
    hash: string;
    operationNames: string[];
    clientName: string | null;
    createdAt: Date;
    created: boolean;
  }>('PersistedOperation')
  .implement({
    description:
      'A trusted document: run it by hash (documentId or extensions.persistedQuery.sha256Hash).',
    fields: (t) => ({
      hash: t.exposeString('hash', {
        description: '"sha256:" and the hex SHA-256 of the document text as sent.',
      }),
      operationNames: t.exposeStringList('operationNames'),
      clientName: t.exposeString('clientName', { nullable: true }),
      createdAt: t.expose('createdAt', { type: 'DateTime' }),
      created: t.exposeBoolean('created', { description: 'false when it was registered already.' }),
    }),
  });

builder.relayMutationField(
  'registerPersistedOperations',
  {
    inputFields: (t) => ({
      projectId: t.globalID({
        for: ProjectRef,
        description:
          'Keys of this project may run them. Omitted: every project (instance admins only).',
      }),
      clientName: t.string({ description: 'Which client ships them (e.g. "dashboard@2.3.0").' }),
      operations: t.stringList({
        required: true,
        description: `Up to ${MAX_PER_CALL} documents (operations with their fragments), each hashed as sent.`,
      }),
    }),
  },
  {
    authScopes: { authenticated: true },
    resolve: async (_root, { input }, ctx, info) => {
      const projectId = input.projectId?.id ?? null;
      // Extending an allow-list is a project admin's act: with PERSISTED_QUERY_ONLY, a developer's
      // key could otherwise make any document trusted (the registration itself is trusted).
      if (projectId !== null) await authorize(ctx, projectId, 'manage');
      else if (!isInstanceAdmin(ctx.principal))
        throw forbidden('Global persisted operations are registered by instance admins.');
      if (!input.operations.length || input.operations.length > MAX_PER_CALL)
        throw badInput(`Send 1 to ${MAX_PER_CALL} operations.`, ['input', 'operations']);
      if ((input.clientName?.length ?? 0) > 200)
        throw badInput('clientName is longer than 200 characters.', ['input', 'clientName']);
      const documents = input.operations.map((text, i) => ({
        document: text,
        operationNames: checkDocument(info.schema, text, i, ctx.deps.config.limits),
      }));
      const service = ctx.services.operations;
      if ((await service.count(projectId)) + documents.length > MAX_PER_PROJECT) {
        throw appError(
          'QUOTA_EXCEEDED',
          `A project may hold at most ${MAX_PER_PROJECT} persisted operations.`,
          { extensions: { quota: MAX_PER_PROJECT } },
        );
      }
      const operations = await service.register(projectId, input.clientName ?? null, documents);
      await recordAudit(ctx, {
        action: 'persistedOperation.register',
        projectId,
        // The first document registered; every hash is in the details.
        targetType: 'PersistedOperation',
        targetId: operations[0]!.hash,
        details: {
          clientName: input.clientName ?? null,
          hashes: operations.map((o) => o.hash),
        },
      });
      return { operations };
    },
  },
  {
    outputFields: (t) => ({
      operations: t.field({ type: [PersistedOperationRef], resolve: (p) => p.operations }),
    }),
  },
);
