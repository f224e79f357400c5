// Managing webhook endpoints needs the `write` action on their project. A secret is returned
// once, by createWebhookEndpoint and rotateWebhookSecret.
import type { Context } from '../../context';
import type { Prisma } from '../../generated/prisma/client';
import type { Sql } from '../../storage/db';
import { notFound } from '../../errors';
import { builder } from '../../schema/builder';
import { authorizeId } from '../auth/access';
import { DEFAULT_WEBHOOK_EVENTS, PROGRESS, WEBHOOK_EVENTS } from '../events/catalogue';
import { ProjectRef } from '../projects/schema';
import { WebhookEndpointRef } from './schema';
import { recordAudit } from '../audit/record';

/** The endpoint's project, when the principal may change the endpoint. */
async function writableEndpoint(ctx: Context, id: string) {
  return authorizeId(ctx, 'WebhookEndpoint', id, 'write');
}

const auditEndpoint = (
  ctx: Context,
  action: string,
  projectId: string,
  id: string,
  details?: Record<string, unknown>,
  client?: Sql | Prisma.TransactionClient,
) =>
  recordAudit(
    ctx,
    { action, projectId, targetType: 'WebhookEndpoint', targetId: id, details },
    client,
  );

/** The events an endpoint may subscribe to, from the catalogue. */
const EVENTS_DESCRIPTION = `${WEBHOOK_EVENTS.join(', ')}.`;

const SECRET_DESCRIPTION =
  'The signing secret (whsec_…, Standard Webhooks). Shown this once: store it now.';

builder.relayMutationField(
  'createWebhookEndpoint',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      url: t.string({
        required: true,
        description: 'http(s); private, loopback and link-local addresses are refused.',
      }),
      events: t.stringList({
        description: `${EVENTS_DESCRIPTION} Without it: every event but the opt-in ones (${WEBHOOK_EVENTS.filter((e) => !DEFAULT_WEBHOOK_EVENTS.includes(e)).join(', ')}), which go only to endpoints that list them.`,
      }),
      description: t.string(),
      progressIntervalSeconds: t.int({
        description: `Least time between two evaluation.progress messages of one evaluation (default ${PROGRESS.webhookIntervalSeconds}).`,
      }),
    }),
  },
  {
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'write' } }),
    resolve: async (_root, { input }, ctx) => {
      return ctx.services.webhooks.create(
        input.projectId.id,
        { ...input, url: input.url, events: input.events ?? DEFAULT_WEBHOOK_EVENTS },
        (tx, created) =>
          auditEndpoint(
            ctx,
            'webhookEndpoint.create',
            input.projectId.id,
            created.id,
            { url: created.url, events: created.events },
            tx,
          ),
      );
    },
  },
  {
    outputFields: (t) => ({
      webhookEndpoint: t.field({ type: WebhookEndpointRef, resolve: (p) => p.endpoint }),
      secret: t.string({ description: SECRET_DESCRIPTION, resolve: (p) => p.secret }),
    }),
  },
);

builder.relayMutationField(
  'updateWebhookEndpoint',
  {
    inputFields: (t) => ({
      id: t.globalID({ required: true, for: WebhookEndpointRef }),
      url: t.string(),
      events: t.stringList({ description: EVENTS_DESCRIPTION }),
      description: t.string(),
      enabled: t.boolean({
        description: 'false disables it; true enables it again and clears its failure record.',
      }),
      progressIntervalSeconds: t.int(),
    }),
  },
  {
    resolve: async (_root, { input }, ctx) => {
      const projectId = await writableEndpoint(ctx, input.id.id);
      const { id: _id, ...changes } = input;
      const endpoint = await ctx.services.webhooks.update(input.id.id, input, (tx) =>
        auditEndpoint(ctx, 'webhookEndpoint.update', projectId, input.id.id, changes, tx),
      );
      return { endpoint };
    },
  },
  {
    outputFields: (t) => ({
      webhookEndpoint: t.field({ type: WebhookEndpointRef, resolve: (p) => p.endpoint }),
    }),
  },
);

builder.relayMutationField(
  'deleteWebhookEndpoint',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: WebhookEndpointRef }) }) },
  {
    resolve: async (_root, { input }, ctx) => {
      const projectId = await writableEndpoint(ctx, input.id.id);
      await ctx.services.webhooks.remove(input.id.id, (sql) =>
        auditEndpoint(ctx, 'webhookEndpoint.delete', projectId, input.id.id, {}, sql),
      );
      return { id: input.id };
    },
  },
  {
    outputFields: (t) => ({
      deletedId: t.id({
        resolve: (p) => Buffer.from(`WebhookEndpoint:${p.id.id}`).toString('base64'),
      }),
    }),
  },
);

builder.relayMutationField(
  'rotateWebhookSecret',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: WebhookEndpointRef }) }) },
  {
    resolve: async (_root, { input }, ctx) => {
      const projectId = await writableEndpoint(ctx, input.id.id);
      return ctx.services.webhooks.rotateSecret(input.id.id, (sql) =>
        auditEndpoint(ctx, 'webhookEndpoint.rotateSecret', projectId, input.id.id, {}, sql),
      );
    },
  },
  {
    outputFields: (t) => ({
      webhookEndpoint: t.field({ type: WebhookEndpointRef, resolve: (p) => p.endpoint }),
      secret: t.string({
        description: `${SECRET_DESCRIPTION} The previous secret keeps signing beside it for 24 hours.`,
        resolve: (p) => p.secret,
      }),
    }),
  },
);

builder.relayMutationField(
  'sendTestWebhook',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: WebhookEndpointRef }) }) },
  {
    resolve: async (_root, { input }, ctx) => {
      await writableEndpoint(ctx, input.id.id);
      return { messageId: await ctx.services.webhooks.sendTest(input.id.id) };
    },
  },
  {
    outputFields: (t) => ({
      messageId: t.string({
        description: 'The webhook-id of the test message.',
        resolve: (p) => p.messageId,
      }),
    }),
  },
);

builder.relayMutationField(
  'redeliverWebhookMessage',
  {
    inputFields: (t) => ({
      id: t.string({ required: true, description: 'The message id (webhook-id).' }),
      endpointId: t.globalID({
        for: WebhookEndpointRef,
        description: 'Only to this endpoint (default: every endpoint it went to).',
      }),
    }),
  },
  {
    resolve: async (_root, { input }, ctx) => {
      const projectId = await authorizeId(ctx, 'WebhookMessage', input.id, 'write');
      const endpointId = input.endpointId?.id ?? null;
      // An endpoint the message never went to (another project's, or none at all) is not there for it.
      if (
        endpointId &&
        !(await ctx.deps.db.prisma.webhookDelivery.findFirst({
          where: { messageId: input.id, endpointId, endpoint: { projectId } },
          select: { id: true },
        }))
      ) {
        throw notFound('Webhook endpoint');
      }
      return { count: await ctx.services.webhooks.redeliverMessage(input.id, endpointId) };
    },
  },
  {
    outputFields: (t) => ({
      redeliveries: t.int({ description: 'Deliveries queued again.', resolve: (p) => p.count }),
    }),
  },
);

builder.relayMutationField(
  'redeliverFailed',
  {
    inputFields: (t) => ({
      endpointId: t.globalID({ required: true, for: WebhookEndpointRef }),
      since: t.field({
        type: 'DateTime',
        required: true,
        description: 'Failed deliveries created at or after this time.',
      }),
    }),
  },
  {
    resolve: async (_root, { input }, ctx) => {
      await writableEndpoint(ctx, input.endpointId.id);
      return {
        count: await ctx.services.webhooks.redeliverFailed(input.endpointId.id, input.since),
      };
    },
  },
  { outputFields: (t) => ({ redeliveries: t.int({ resolve: (p) => p.count }) }) },
);
