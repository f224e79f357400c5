// `alertFired(projectId)`: alert state changes of a project's rules, as they happen.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { boundedQueue } from '../../lib/channel';
import { builder } from '../../schema/builder';
import { ProjectRef } from '../projects/schema';
import { alertTopic, type AlertNotification } from './events';

const AlertStateEnum = builder.enumType('AlertState', { values: ['OK', 'WARNING', 'FIRING', 'RESOLVED'] as const });

const AlertEventRef = builder.objectRef<AlertNotification>('AlertEvent').implement({
  description: 'An alert rule changing state.',
  authScopes: (n) => ({ project: { id: n.projectId, action: 'read' } }),
  fields: (t) => ({
    ruleId: t.id({ resolve: (n) => encodeGlobalID('AlertRule', n.ruleId) }),
    ruleName: t.exposeString('ruleName'),
    state: t.field({ type: AlertStateEnum, resolve: (n) => n.state }),
    value: t.exposeFloat('value', { nullable: true, description: 'The measured value (null when there was no data).' }),
    threshold: t.exposeFloat('threshold'),
    windowSeconds: t.exposeInt('windowSeconds'),
    at: t.field({ type: 'DateTime', resolve: (n) => new Date(n.at) }),
  }),
});

builder.subscriptionFields((t) => ({
  alertFired: t.field({
    type: AlertEventRef,
    description: "State changes (firing, resolving) of the project's alert rules.",
    args: { projectId: t.arg.globalID({ required: true, for: ProjectRef }) },
    authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
    subscribe: (_root, args, ctx) => ctx.services.subscriptions.topic<AlertNotification>(ctx, args.projectId.id, alertTopic(args.projectId.id), boundedQueue(1_000)),
    resolve: (n) => n,
  }),
}));
