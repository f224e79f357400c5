// The audit log's one query. Read-only: no mutation edits or deletes entries; the worker's
// retention job (job.ts) is the only thing that removes them.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { forbidden } from '../../errors';
import { builder } from '../../schema/builder';
import { UserRef } from '../auth/schema';
import { can, isInstanceAdmin } from '../auth/permissions';
import { ProjectRef } from '../projects/schema';

const globalIdOrNull = (type: string, id: string | null) => (id ? encodeGlobalID(type, id) : null);

builder.prismaObject('AuditEntry', {
  // Never cached: an entry is written by every audited mutation, of any project or none.
  extensions: { cacheTtlMs: 0 },
  description: 'One administrative or destructive operation: who, with which key, when, what.',
  fields: (t) => ({
    id: t.exposeID('id'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    action: t.exposeString('action', {
      description: 'e.g. apiKey.create, member.add, webhookEndpoint.rotateSecret.',
    }),
    actorId: t.id({
      nullable: true,
      description: 'User.id of who did it (the user may since be gone).',
      resolve: (e) => globalIdOrNull('User', e.actorId),
    }),
    apiKeyId: t.id({
      nullable: true,
      description: 'ApiKey.id of the key used.',
      resolve: (e) => globalIdOrNull('ApiKey', e.apiKeyId),
    }),
    address: t.exposeString('address', { nullable: true, description: "The client's address." }),
    projectId: t.id({
      nullable: true,
      description: 'Project.id; null for instance-level operations.',
      resolve: (e) => globalIdOrNull('Project', e.projectId),
    }),
    targetType: t.exposeString('targetType'),
    targetId: t.id({
      description: 'The global id of what the operation was on.',
      resolve: (e) => encodeGlobalID(e.targetType, e.targetId),
    }),
    details: t.expose('details', { type: 'JSON' }),
  }),
});

const AuditLogFilter = builder.inputType('AuditLogFilter', {
  fields: (t) => ({
    actions: t.stringList({ description: 'Any of these actions.' }),
    actorId: t.globalID({ for: UserRef, description: 'By this user.' }),
    from: t.field({ type: 'DateTime', description: 'At or after.' }),
    to: t.field({ type: 'DateTime', description: 'Before.' }),
  }),
});

builder.queryField('auditLog', (t) =>
  t.prismaConnection(
    {
      type: 'AuditEntry',
      cursor: 'id',
      description:
        "Audit entries, newest first. Instance admins see every entry (or one project's); a project ADMIN sees those of the projects they administer. Entries without a project: instance admins only.",
      args: {
        projectId: t.arg.globalID({ for: ProjectRef }),
        filter: t.arg({ type: AuditLogFilter }),
      },
      authScopes: (_root, args) =>
        args.projectId
          ? { project: { id: args.projectId.id, action: 'manage' } }
          : { authenticated: true },
      resolve: (query, _root, args, ctx) => {
        const principal = ctx.principal!;
        let projects: { projectId: string | { in: string[] } } | object = {};
        if (args.projectId) projects = { projectId: args.projectId.id };
        else if (!isInstanceAdmin(principal)) {
          // A key bound to a project (an instance admin's too) reaches that project only.
          const candidates = principal.keyProjectId
            ? [principal.keyProjectId]
            : [...principal.memberships.keys()];
          const managed = candidates.filter((p) => can(principal, p, 'manage'));
          if (!managed.length) throw forbidden('The audit log is for project and instance admins.');
          projects = { projectId: { in: managed } };
        }
        const f = args.filter;
        return ctx.deps.db.prisma.auditEntry.findMany({
          ...query,
          where: {
            ...projects,
            ...(f?.actions?.length ? { action: { in: f.actions } } : {}),
            ...(f?.actorId ? { actorId: f.actorId.id } : {}),
            ...(f?.from || f?.to
              ? {
                  createdAt: {
                    ...(f.from ? { gte: f.from } : {}),
                    ...(f.to ? { lt: f.to } : {}),
                  },
                }
              : {}),
          },
          orderBy: { id: 'desc' },
        });
      },
    },
    { name: 'AuditEntryConnection' },
    { name: 'AuditEntryEdge' },
  ),
);
