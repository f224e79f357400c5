// First start: with EVALGRAPH_INIT_* the operator's admin, project and key exist afterwards;
// without them, an empty database gets an admin, a default project and a key shown once.
import type { Deps } from '../../deps';
import type { Services } from '../../services';
import { hashApiKey } from './api-key';

export interface BootstrapResult {
  /** Set only when a key was generated now: print it once, it is never shown again. */
  generatedKey: string | null;
  adminEmail: string | null;
  projectId: string | null;
  created: string[];
}

const DEFAULT_ADMIN = 'admin@evalgraph.local';

export async function bootstrap(deps: Deps, services: Services): Promise<BootstrapResult> {
  const { prisma } = deps.db;
  const init = deps.config.init;
  const created: string[] = [];
  // Several processes may start together: one does the work, the others then find it done.
  return prisma.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(735100)`;
      if (!init && (await tx.user.count()) > 0)
        return { generatedKey: null, adminEmail: null, projectId: null, created };

      const email = init?.adminEmail.toLowerCase() ?? DEFAULT_ADMIN;
      let admin = await tx.user.findUnique({ where: { email } });
      if (!admin) {
        admin = await tx.user.create({
          data: { email, name: 'Administrator', isAdmin: true, tier: 'ENTERPRISE' },
        });
        created.push(`admin user ${email}`);
      } else if (!admin.isAdmin) {
        admin = await tx.user.update({ where: { id: admin.id }, data: { isAdmin: true } });
      }

      const projectName = init ? init.project : 'Default';
      let projectId: string | null = null;
      if (projectName) {
        let project = await tx.project.findFirst({
          where: { name: projectName },
          orderBy: { createdAt: 'asc' },
        });
        if (!project) {
          project = await tx.project.create({ data: { name: projectName } });
          created.push(`project ${projectName}`);
        }
        projectId = project.id;
        await tx.membership.upsert({
          where: { userId_projectId: { userId: admin.id, projectId } },
          create: { userId: admin.id, projectId, role: 'ADMIN' },
          update: {},
        });
      }

      let generatedKey: string | null = null;
      if (init?.apiKey) {
        if (!(await tx.apiKey.findUnique({ where: { hash: hashApiKey(init.apiKey) } }))) {
          await services.auth.createApiKey(
            null,
            { userId: admin.id, name: 'EVALGRAPH_INIT_API_KEY' },
            init.apiKey,
            tx,
          );
          created.push('API key from EVALGRAPH_INIT_API_KEY');
        }
      } else if (!init) {
        generatedKey = (
          await services.auth.createApiKey(
            null,
            { userId: admin.id, name: 'first admin key' },
            undefined,
            tx,
          )
        ).key;
        created.push('admin API key');
      }
      return { generatedKey, adminEmail: email, projectId, created };
    },
    { timeout: 30_000 },
  );
}
