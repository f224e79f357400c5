// Webhook endpoints, their deliveries and attempts. Reading needs the `read` action on the
// endpoint's project; secrets are never shown after they are created.
import { WebhookDeliveryStatus } from '../../generated/prisma/enums';
import { forbidden, found } from '../../errors';
import { allows, authorizeId } from '../auth/access';
import { builder } from '../../schema/builder';
import { projectScope } from '../auth/permissions';
import { ProjectRef } from '../projects/schema';
import type { StoredSecret } from './signature';
import { METRICS } from '../alerts/metrics';

const readScope = projectScope('read');

export const WebhookDeliveryStatusEnum = builder.enumType(WebhookDeliveryStatus, {
  name: 'WebhookDeliveryStatus',
  description:
    'PENDING: to be (re)tried; DELIVERED: answered 2xx; FAILED: every attempt failed, or the endpoint answered 410 Gone.',
});

const EndpointStats = builder
  .objectRef<{
    delivered: number;
    failed: number;
    pending: number;
    successRate: number | null;
    p95LatencyMs: number | null;
  }>('WebhookEndpointStats')
  .implement({
    fields: (t) => ({
      delivered: t.exposeInt('delivered'),
      failed: t.exposeInt('failed'),
      pending: t.exposeInt('pending'),
      successRate: t.exposeFloat('successRate', {
        nullable: true,
        description: 'delivered / (delivered + failed).',
      }),
      p95LatencyMs: t.exposeInt('p95LatencyMs', {
        nullable: true,
        description: 'Of the attempts of the last 7 days.',
      }),
    }),
  });

const SecretInfo = builder.objectRef<StoredSecret>('WebhookSecretInfo').implement({
  description: 'A signing secret, without the secret itself.',
  fields: (t) => ({
    prefix: t.string({ resolve: (s) => `${s.secret.slice(0, 10)}…` }),
    createdAt: t.field({ type: 'DateTime', resolve: (s) => new Date(s.createdAt) }),
    expiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Set on a rotated-out secret: it signs beside the new one until then.',
      resolve: (s) => (s.expiresAt ? new Date(s.expiresAt) : null),
    }),
  }),
});

export const WebhookEndpointRef = builder.prismaNode('WebhookEndpoint', {
  // Never cached: workers change it (disabling a failing endpoint) outside any mutation.
  extensions: { cacheTtlMs: 0 },
  // Loaded with findUnique: a missing node is null (then NOT_FOUND), not a thrown Prisma error.
  nullable: true,
  id: { field: 'id' },
  description:
    'A URL that receives signed webhooks (Standard Webhooks) for the events it subscribes to.',
  authScopes: readScope,
  fields: (t) => ({
    project: t.relation('project'),
    url: t.exposeString('url'),
    description: t.exposeString('description', { nullable: true }),
    events: t.exposeStringList('events'),
    enabled: t.exposeBoolean('enabled'),
    disabledReason: t.exposeString('disabledReason', { nullable: true }),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true }),
    failingSince: t.expose('failingSince', {
      type: 'DateTime',
      nullable: true,
      description: 'Start of the current run of failed deliveries.',
    }),
    progressIntervalSeconds: t.exposeInt('progressIntervalSeconds', {
      description: 'Least time between two evaluation.progress messages of one evaluation.',
    }),
    secrets: t.field({
      type: [SecretInfo],
      select: { secrets: true },
      resolve: (e, _args, ctx) =>
        (e.secrets as unknown as StoredSecret[]).filter(
          (s) => !s.expiresAt || Date.parse(s.expiresAt) > ctx.deps.clock.now().getTime(),
        ),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    stats: t.field({
      type: EndpointStats,
      resolve: (e, _a, ctx) => ctx.services.webhooks.stats(e.id),
    }),
  }),
});

builder.prismaObject('WebhookMessage', {
  description:
    'One event, as sent: `id` is the webhook-id header, `payload` the exact body signed.',
  fields: (t) => ({
    id: t.exposeString('id'),
    eventType: t.exposeString('eventType'),
    payload: t.string({
      nullable: true,
      description:
        'The body sent. An alert on a money metric (COST) carries cost values: FORBIDDEN (null in its place) without the BILLING or ADMIN role.',
      select: { payload: true, projectId: true, eventType: true },
      resolve: (m, _args, ctx) => {
        if (m.eventType.startsWith('alert.')) {
          // Its value, threshold and baseline are money when the metric is: as AlertRule.lastValue.
          const metric = (JSON.parse(m.payload) as { data?: { metric?: string } }).data?.metric;
          const money = metric !== undefined && METRICS[metric as keyof typeof METRICS]?.costs;
          if (money && !allows(ctx, m.projectId, 'costs'))
            throw forbidden('Cost values need the BILLING or ADMIN role.');
        }
        return m.payload;
      },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.prismaObject('WebhookAttempt', {
  // Never cached: deliveries are attempted by workers, outside any mutation.
  extensions: { cacheTtlMs: 0 },
  fields: (t) => ({
    attemptedAt: t.expose('attemptedAt', { type: 'DateTime' }),
    statusCode: t.exposeInt('statusCode', { nullable: true }),
    latencyMs: t.exposeInt('latencyMs'),
    error: t.exposeString('error', { nullable: true }),
    responseSnippet: t.exposeString('responseSnippet', {
      nullable: true,
      description: 'The first KiB of the answer.',
    }),
  }),
});

export const WebhookDeliveryRef = builder.prismaNode('WebhookDelivery', {
  // Never cached: deliveries are attempted by workers, outside any mutation.
  extensions: { cacheTtlMs: 0 },
  // Loaded with findUnique: a missing node is null (then NOT_FOUND), not a thrown Prisma error.
  nullable: true,
  id: { field: 'id' },
  description: 'A message to one endpoint (or one alert channel), with every attempt.',
  select: {
    id: true,
    endpoint: { select: { projectId: true } },
    channel: { select: { projectId: true } },
  },
  // Exactly one of the two is set (a check constraint says so).
  authScopes: (d) => readScope((d.endpoint ?? d.channel)!),
  fields: (t) => ({
    message: t.relation('message'),
    endpoint: t.relation('endpoint', {
      nullable: true,
      description: 'null for a delivery to an alert channel.',
    }),
    channel: t.relation('channel', {
      nullable: true,
      description: 'The alert channel (Slack, PagerDuty, email) of a delivery to one.',
    }),
    status: t.expose('status', { type: WebhookDeliveryStatusEnum }),
    attempts: t.exposeInt('attempts'),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      select: { status: true, nextAttemptAt: true },
      resolve: (d) => (d.status === 'PENDING' ? d.nextAttemptAt : null),
    }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    lastStatusCode: t.exposeInt('lastStatusCode', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    attemptLog: t.relation('attemptLog', { query: { orderBy: { attemptedAt: 'asc' }, take: 50 } }),
  }),
});

const DeliveryFilter = builder.inputType('WebhookDeliveryFilter', {
  fields: (t) => ({
    status: t.field({ type: WebhookDeliveryStatusEnum }),
    eventType: t.string(),
    from: t.field({ type: 'DateTime', description: 'Created at or after.' }),
    to: t.field({ type: 'DateTime', description: 'Created before.' }),
  }),
});

builder.queryFields((t) => ({
  webhookEndpoints: t.prismaConnection(
    {
      type: 'WebhookEndpoint',
      cursor: 'id',
      description: "A project's webhook endpoints, oldest first.",
      args: { projectId: t.arg.globalID({ required: true, for: ProjectRef }) },
      authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
      resolve: (query, _root, args, ctx) =>
        ctx.deps.db.prisma.webhookEndpoint.findMany({
          ...query,
          where: { projectId: args.projectId.id },
          orderBy: { id: 'asc' },
        }),
    },
    { name: 'WebhookEndpointConnection' },
    { name: 'WebhookEndpointEdge' },
  ),
  webhookEndpoint: t.prismaField({
    type: 'WebhookEndpoint',
    nullable: true,
    args: { id: t.arg.globalID({ required: true, for: WebhookEndpointRef }) },
    resolve: (query, _root, args, ctx) =>
      ctx.deps.db.prisma.webhookEndpoint
        .findUnique({ ...query, where: { id: args.id.id } })
        .then(found('WebhookEndpoint')),
  }),
  webhookDeliveries: t.prismaConnection(
    {
      type: 'WebhookDelivery',
      cursor: 'id',
      description: 'Deliveries to an endpoint, newest first.',
      args: {
        endpointId: t.arg.globalID({ required: true, for: WebhookEndpointRef }),
        filter: t.arg({ type: DeliveryFilter }),
      },
      authScopes: { authenticated: true },
      // The endpoint's project decides: an endpoint you cannot read is not there.
      resolve: async (query, _root, args, ctx) => {
        await authorizeId(ctx, 'WebhookEndpoint', args.endpointId.id, 'read');
        return ctx.deps.db.prisma.webhookDelivery.findMany({
          ...query,
          where: {
            endpointId: args.endpointId.id,
            ...(args.filter?.status ? { status: args.filter.status } : {}),
            ...(args.filter?.eventType ? { message: { eventType: args.filter.eventType } } : {}),
            ...(args.filter?.from || args.filter?.to
              ? {
                  createdAt: {
                    ...(args.filter.from ? { gte: args.filter.from } : {}),
                    ...(args.filter.to ? { lt: args.filter.to } : {}),
                  },
                }
              : {}),
          },
          orderBy: { id: 'desc' },
        });
      },
    },
    { name: 'WebhookDeliveryConnection' },
    { name: 'WebhookDeliveryEdge' },
  ),
}));
