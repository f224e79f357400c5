// Alert channels: where a project's alert rules send notifications besides webhook endpoints
// (Slack, PagerDuty, email), named by rules in `channelIds`. Reading needs `read` on the project,
// changing `write`. The Slack URL and the PagerDuty routing key are secrets: written, never shown
// again but masked. Delivery is the webhook outbox's (one delivery per event and channel), so the
// delivery log is the same `WebhookDelivery`.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { z } from 'zod';
import { appError, badInput, found } from '../../errors';
import { AlertChannelType } from '../../generated/prisma/enums';
import { parseInput } from '../../lib/validate';
import { builder } from '../../schema/builder';
import { authorizeId } from '../auth/access';
import { projectScope } from '../auth/permissions';
import { ProjectRef } from '../projects/schema';
import { checkTarget, parseAllowList, TargetRefusedError } from '../webhooks/ssrf';
import { PAGERDUTY_EVENTS_URL } from './notify-format';
import { recordAudit } from '../audit/record';

const MAX_CHANNELS_PER_PROJECT = 50;

export const AlertChannelTypeEnum = builder.enumType(AlertChannelType, {
  name: 'AlertChannelType',
  description:
    'SLACK: an incoming-webhook URL; PAGERDUTY: an Events API v2 routing key; EMAIL: addresses (SMTP). Webhook endpoints are named by a rule’s `channels`.',
});

/** The end of a secret, enough to tell two apart. */
const tail = (secret: string) => `…${secret.slice(-4)}`;

export const AlertChannelRef = builder.prismaNode('AlertChannel', {
  // Loaded with findUnique: a missing node is null (then NOT_FOUND), not a thrown Prisma error.
  nullable: true,
  id: { field: 'id' },
  description: 'Where alert rules naming it (channelIds) send their notifications.',
  authScopes: projectScope('read'),
  fields: (t) => ({
    project: t.relation('project'),
    type: t.expose('type', { type: AlertChannelTypeEnum }),
    name: t.exposeString('name'),
    url: t.string({
      nullable: true,
      description:
        'SLACK: the incoming-webhook URL masked (its origin and last characters); PAGERDUTY: the Events API URL.',
      select: { type: true, url: true },
      resolve: (c) =>
        c.url === null
          ? null
          : c.type === 'SLACK'
            ? `${new URL(c.url).origin}/${tail(c.url)}`
            : c.url,
    }),
    routingKey: t.string({
      nullable: true,
      description: 'PAGERDUTY: the routing key, masked.',
      select: { routingKey: true },
      resolve: (c) => (c.routingKey === null ? null : tail(c.routingKey)),
    }),
    addresses: t.exposeStringList('addresses', { description: 'EMAIL: the recipients.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    deliveries: t.relatedConnection('deliveries', {
      cursor: 'id',
      description: 'Its deliveries (the webhook outbox’s), newest first.',
      query: { orderBy: { id: 'desc' } },
    }),
  }),
});

const channelInput = z
  .object({
    type: z.enum(AlertChannelType),
    name: z.string().trim().min(1, 'must not be empty').max(200),
    url: z.string().max(2_000).nullish(),
    routingKey: z
      .string()
      .regex(/^[\x21-\x7e]{1,200}$/, 'expected 1 to 200 printable characters')
      .nullish(),
    addresses: z
      .array(z.email({ message: 'expected an email address' }))
      .max(20)
      .nullish(),
  })
  .superRefine((c, ctx) => {
    const wanted = { SLACK: 'url', PAGERDUTY: 'routingKey', EMAIL: 'addresses' }[c.type];
    for (const field of ['url', 'routingKey', 'addresses'] as const) {
      const given = c[field] != null && !(Array.isArray(c[field]) && !c[field].length);
      // PagerDuty may name another Events API URL (tests, a proxy).
      const allowed = field === wanted || (c.type === 'PAGERDUTY' && field === 'url');
      if (field === wanted && !given)
        ctx.addIssue({ code: 'custom', path: [field], message: `a ${c.type} channel needs it` });
      if (given && !allowed)
        ctx.addIssue({ code: 'custom', path: [field], message: `not for a ${c.type} channel` });
    }
  });

builder.relayMutationField(
  'createAlertChannel',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      type: t.field({ type: AlertChannelTypeEnum, required: true }),
      name: t.string({ required: true }),
      url: t.string({
        description: `SLACK: the incoming-webhook URL (required; never shown again). PAGERDUTY: the Events API URL (default ${PAGERDUTY_EVENTS_URL}). Private and loopback addresses are refused as for webhooks.`,
      }),
      routingKey: t.string({
        description: 'PAGERDUTY: the integration’s routing key (required; never shown again).',
      }),
      addresses: t.stringList({ description: 'EMAIL: up to 20 recipients (required).' }),
    }),
  },
  {
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'write' } }),
    resolve: async (_root, { input }, ctx) => {
      const projectId = input.projectId.id;
      const c = parseInput(channelInput, { ...input, projectId: undefined });
      // A URL given is checked as a webhook's (PagerDuty's own default needs no check).
      let url = c.url ?? (c.type === 'PAGERDUTY' ? PAGERDUTY_EVENTS_URL : null);
      if (c.url != null) {
        try {
          url = (
            await checkTarget(c.url, parseAllowList(ctx.deps.config.webhooks.allowedHosts))
          ).toString();
        } catch (error) {
          if (error instanceof TargetRefusedError)
            throw badInput(`The URL is refused: ${error.message}.`, ['input', 'url']);
          throw error;
        }
      }
      if (c.type === 'EMAIL' && !ctx.deps.config.smtp)
        throw badInput('EMAIL channels need the server’s EVALGRAPH_SMTP_URL.', ['input', 'type']);
      const prisma = ctx.deps.db.prisma;
      if ((await prisma.alertChannel.count({ where: { projectId } })) >= MAX_CHANNELS_PER_PROJECT)
        throw appError(
          'QUOTA_EXCEEDED',
          `A project may have at most ${MAX_CHANNELS_PER_PROJECT} alert channels.`,
          { extensions: { quota: MAX_CHANNELS_PER_PROJECT } },
        );
      return {
        channel: await prisma.alertChannel.create({
          data: {
            projectId,
            type: c.type,
            name: c.name,
            url,
            routingKey: c.routingKey ?? null,
            addresses: [...new Set(c.addresses ?? [])],
          },
        }),
      };
    },
  },
  {
    outputFields: (t) => ({
      alertChannel: t.field({ type: AlertChannelRef, resolve: (p) => p.channel }),
    }),
  },
);

builder.relayMutationField(
  'deleteAlertChannel',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: AlertChannelRef }) }) },
  {
    description:
      'Deletes the channel and its deliveries (pending ones are not sent); rules stop naming it.',
    resolve: async (_root, { input }, ctx) => {
      const id = input.id.id;
      const projectId = await authorizeId(ctx, 'AlertChannel', id, 'write', ['input', 'id']);
      await ctx.deps.db.transaction(async (sql) => {
        await sql(
          `UPDATE alert_rules SET channel_ids = array_remove(channel_ids, $1) WHERE project_id = $2::uuid AND $1 = ANY(channel_ids)`,
          [id, projectId],
        );
        await sql(`DELETE FROM alert_channels WHERE id = $1::uuid`, [id]);
        await recordAudit(
          ctx,
          { action: 'alertChannel.delete', projectId, targetType: 'AlertChannel', targetId: id },
          sql,
        );
      });
      return { id };
    },
  },
  {
    outputFields: (t) => ({
      deletedAlertChannelId: t.id({ resolve: (p) => encodeGlobalID('AlertChannel', p.id) }),
    }),
  },
);

builder.queryFields((t) => ({
  alertChannels: t.prismaConnection(
    {
      type: 'AlertChannel',
      cursor: 'id',
      description: "A project's alert channels, oldest first.",
      args: { projectId: t.arg.globalID({ required: true, for: ProjectRef }) },
      authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
      resolve: (query, _root, args, ctx) =>
        ctx.deps.db.prisma.alertChannel.findMany({
          ...query,
          where: { projectId: args.projectId.id },
          orderBy: { id: 'asc' },
        }),
    },
    { name: 'AlertChannelConnection' },
    { name: 'AlertChannelEdge' },
  ),
  alertChannel: t.prismaField({
    type: 'AlertChannel',
    nullable: true,
    args: { id: t.arg.globalID({ required: true, for: AlertChannelRef }) },
    resolve: (query, _root, args, ctx) =>
      ctx.deps.db.prisma.alertChannel
        .findUnique({ ...query, where: { id: args.id.id } })
        .then(found('AlertChannel')),
  }),
}));
