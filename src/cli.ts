// The `evalgraph` command: migrate, serve, backup and restore, administration (users, projects, keys,
// tiers) and maintenance (rollups rebuild).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { Command, Option } from 'commander';
import pino from 'pino';
import { backup, restore } from './backup';
import { ConfigError, parseConfig, type Config } from './config';
import { createDeps, type Deps } from './deps';
import { isAppError } from './errors';
import { Role, Tier } from './generated/prisma/enums';
import { rebuildRollups } from './modules/analytics/rebuild';
import { createServices, type Services } from './services';
import { createDb, dbOptionsOf } from './storage/db';
import { serve, stopOnSignals, type ServeRole } from './serve';

const quiet = () => pino({ level: 'warn' });

/** PGlite has a single owner: refuse to open the embedded database under a running server. */
async function assertEmbeddedFree(config: Config) {
  if (config.database.kind !== 'pglite') return;
  const pid = Number(
    await readFile(path.join(config.dataDir, 'serve.pid'), 'utf8').catch(() => ''),
  );
  if (!pid || pid === process.pid) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // a stale pid file: that server is gone
  }
  throw new Error(
    `The embedded database in ${config.dataDir} is in use by the running server (pid ${pid}). ` +
      'Stop the server first, or do this through its GraphQL API (createUser, createProject, createApiKey, revokeApiKey, setUserTier).',
  );
}

async function withServices<T>(fn: (services: Services, deps: Deps) => Promise<T>): Promise<T> {
  const config = parseConfig(process.env);
  await assertEmbeddedFree(config);
  const deps = await createDeps(config, { log: quiet() });
  try {
    return await fn(createServices(deps), deps);
  } finally {
    await deps.close();
  }
}

function output(json: boolean, data: Record<string, unknown>, text: string) {
  console.log(json ? JSON.stringify(data) : text);
}

async function findUserId(deps: Deps, email: string): Promise<string> {
  const user = await deps.db.prisma.user.findUnique({ where: { email: email.toLowerCase() } });
  if (!user) throw new Error(`No user has the email ${email}.`);
  return user.id;
}

/** A project by raw id, global id or name. */
async function findProjectId(deps: Deps, ref: string): Promise<string> {
  let id = ref;
  try {
    const decoded = decodeGlobalID(ref);
    if (decoded.typename === 'Project') id = decoded.id;
  } catch {
    // not a global id
  }
  const byId = /^[0-9a-f-]{36}$/i.test(id)
    ? await deps.db.prisma.project.findUnique({ where: { id } })
    : null;
  const project =
    byId ??
    (await deps.db.prisma.project.findFirst({
      where: { name: ref },
      orderBy: { createdAt: 'asc' },
    }));
  if (!project) throw new Error(`No project has the id or name "${ref}".`);
  return project.id;
}

export function buildProgram(): Command {
  const program = new Command('evalgraph').description(
    'Evalgraph: observe, cost and evaluate LLM applications over GraphQL.',
  );
  const json = new Option('--json', 'machine-readable output');

  program
    .command('migrate')
    .description(
      'apply pending database migrations (Postgres from DATABASE_URL, or the embedded database)',
    )
    .option(
      '--check',
      'apply nothing; report pending migrations and drift from prisma/schema.prisma (exit 1 when either)',
    )
    .addOption(json)
    .action(async (opts) => {
      const config = parseConfig(process.env);
      await assertEmbeddedFree(config);
      const db = await createDb(dbOptionsOf(config.database));
      const engine = await db.migrations();
      try {
        if (!opts.check) {
          const applied = await engine.apply();
          output(
            opts.json,
            { applied },
            applied.length ? `applied: ${applied.join(', ')}` : 'the database is up to date',
          );
          return;
        }
        const pending = await engine.pending();
        const drift = pending.length ? null : await engine.diffDatabaseToSchema();
        output(
          opts.json,
          { pending, drift },
          pending.length
            ? `pending migrations: ${pending.join(', ')}`
            : drift
              ? `the database differs from schema.prisma:\n${drift}`
              : 'no pending migrations, no drift',
        );
        if (pending.length || drift) process.exitCode = 1;
      } finally {
        await engine.close();
        await db.close();
      }
    });

  program
    .command('backup')
    .description(
      'write the whole database to one file: pg_dump --format=custom (DATABASE_URL) or the embedded data directory',
    )
    .requiredOption('--out <file>', 'the backup file to write')
    .option('--pg-bin <dir>', 'the directory holding pg_dump (default: PATH)')
    .addOption(json)
    .action(async (opts) => {
      const config = parseConfig(process.env);
      await assertEmbeddedFree(config);
      const header = await backup(config.database, opts.out, { pgBin: opts.pgBin });
      output(
        opts.json,
        { file: path.resolve(opts.out), ...header },
        `backed up the ${header.kind} database (at migration ${header.migration ?? 'none'}) to ${opts.out}`,
      );
    });

  program
    .command('restore')
    .description(
      'load a backup into an empty database of the same kind, then apply the migrations this build has',
    )
    .argument('<file>', 'a file written by `evalgraph backup`')
    .option(
      '--force',
      'restore over a database that is not empty: its schema public (Postgres) or data directory (embedded) is renamed aside first',
    )
    .option('--pg-bin <dir>', 'the directory holding pg_restore (default: PATH)')
    .addOption(json)
    .action(async (file: string, opts) => {
      const config = parseConfig(process.env);
      await assertEmbeddedFree(config);
      const { header, setAside } = await restore(config.database, file, {
        force: !!opts.force,
        pgBin: opts.pgBin,
      });
      // As `serve` does at start: a backup of an older build comes up to this build's schema.
      let applied: string[] = [];
      let pending: string[] = [];
      const db = await createDb(dbOptionsOf(config.database));
      const engine = await db.migrations();
      try {
        if (config.database.migrateOnStart) applied = await engine.apply();
        else pending = await engine.pending();
      } finally {
        await engine.close();
        await db.close();
      }
      output(
        opts.json,
        { restored: header, setAside, applied, pending },
        [
          `restored the ${header.kind} database from ${file} (taken ${header.createdAt} at migration ${header.migration ?? 'none'})`,
          setAside ? `what was there before is kept as ${setAside}` : '',
          applied.length ? `applied: ${applied.join(', ')}` : '',
          pending.length
            ? `pending migrations (run \`evalgraph migrate\`): ${pending.join(', ')}`
            : '',
        ]
          .filter(Boolean)
          .join('\n'),
      );
    });

  program
    .command('serve')
    .description('start the API and the background worker (default), or one of them')
    .addOption(
      new Option('--role <role>', 'what to run').choices(['all', 'api', 'worker']).default('all'),
    )
    .action(async (opts: { role: ServeRole }) => {
      const config = parseConfig(process.env);
      const server = await serve(config, opts.role);
      stopOnSignals(server.stop, server.deps.log);
    });

  const users = program.command('users').description('manage users');
  users
    .command('create')
    .requiredOption('--email <email>')
    .option('--name <name>')
    .option('--admin', 'instance administrator')
    .addOption(new Option('--tier <tier>').choices(Object.values(Tier)))
    .addOption(json)
    .action((opts) =>
      withServices(async (services) => {
        const user = await services.auth.createUser({
          email: opts.email,
          name: opts.name,
          isAdmin: !!opts.admin,
          tier: opts.tier,
        });
        output(
          opts.json,
          { id: user.id, email: user.email, isAdmin: user.isAdmin, tier: user.tier },
          `created user ${user.email} (${user.id})`,
        );
      }),
    );

  const projects = program.command('projects').description('manage projects');
  projects
    .command('create')
    .requiredOption('--name <name>')
    .option('--owner <email>', 'this user becomes the project ADMIN')
    .addOption(json)
    .action((opts) =>
      withServices(async (services, deps) => {
        const ownerId = opts.owner ? await findUserId(deps, opts.owner) : null;
        const project = await services.projects.createProject({ name: opts.name, ownerId });
        output(
          opts.json,
          { id: project.id, name: project.name },
          `created project ${project.name} (${project.id})`,
        );
      }),
    );
  projects
    .command('add-member')
    .requiredOption('--project <id or name>')
    .requiredOption('--email <email>')
    .addOption(new Option('--role <role>').choices(Object.values(Role)).makeOptionMandatory())
    .addOption(json)
    .action((opts) =>
      withServices(async (services, deps) => {
        const m = await services.projects.addMember({
          projectId: await findProjectId(deps, opts.project),
          email: opts.email,
          role: opts.role,
        });
        output(
          opts.json,
          { projectId: m.projectId, userId: m.userId, role: m.role },
          `${opts.email} is ${m.role} of the project`,
        );
      }),
    );

  const keys = program.command('keys').description('manage API keys');
  keys
    .command('create')
    .requiredOption('--email <email>', 'the user the key acts for')
    .option('--project <id or name>', 'bind the key to this project')
    .addOption(
      new Option('--role <role>', 'narrow the key to this role').choices(Object.values(Role)),
    )
    .option('--name <name>')
    .addOption(json)
    .action((opts) =>
      withServices(async (services, deps) => {
        const projectId = opts.project ? await findProjectId(deps, opts.project) : null;
        const { apiKey, key } = await services.auth.createApiKey(null, {
          userId: await findUserId(deps, opts.email),
          projectId,
          role: opts.role,
          name: opts.name,
        });
        output(
          opts.json,
          {
            key,
            id: apiKey.id,
            prefix: apiKey.prefix,
            userId: apiKey.userId,
            projectId: apiKey.projectId,
            role: apiKey.role,
          },
          `${key}\n(shown once: store it now. id ${apiKey.id}, prefix ${apiKey.prefix})`,
        );
      }),
    );
  keys
    .command('revoke')
    .option('--id <id>')
    .option('--prefix <prefix>', 'the visible start of the key')
    .addOption(json)
    .action((opts) =>
      withServices(async (services, deps) => {
        const where = opts.id ? { id: opts.id } : opts.prefix ? { prefix: opts.prefix } : null;
        if (!where) throw new Error('Give --id or --prefix.');
        const found = await deps.db.prisma.apiKey.findMany({ where, take: 2 });
        if (found.length !== 1)
          throw new Error(
            found.length ? 'That prefix matches several keys: use --id.' : 'No key matches.',
          );
        const key = await services.auth.revokeApiKey(found[0].id);
        output(
          opts.json,
          { id: key.id, prefix: key.prefix, revokedAt: key.revokedAt },
          `revoked key ${key.prefix}… (${key.id})`,
        );
      }),
    );

  const rollups = program.command('rollups').description('the span rollups analytics answer from');
  rollups
    .command('rebuild')
    .description(
      'delete and recompute the span rollups from the stored spans, one UTC day per transaction (exact while the server ingests)',
    )
    .option('--project <id or name>', 'only this project (default: every project)')
    .addOption(json)
    .action((opts) =>
      withServices(async (_services, deps) => {
        const projectId = opts.project ? await findProjectId(deps, opts.project) : null;
        const r = await rebuildRollups(deps.db, { projectId });
        output(
          opts.json,
          { ...r },
          `rebuilt the rollups of ${r.projects} project(s): ${r.days} days, ${r.removed} rows removed, ${r.written} written`,
        );
      }),
    );

  const tiers = program.command('tiers').description('rate-limit and quota tiers');
  tiers
    .command('set')
    .requiredOption('--email <email>')
    .addOption(new Option('--tier <tier>').choices(Object.values(Tier)).makeOptionMandatory())
    .addOption(json)
    .action((opts) =>
      withServices(async (services, deps) => {
        const user = await services.auth.setUserTier(await findUserId(deps, opts.email), opts.tier);
        output(
          opts.json,
          { id: user.id, email: user.email, tier: user.tier },
          `${user.email} is now on the ${user.tier} tier`,
        );
      }),
    );
  return program;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    const program = await buildProgram().parseAsync(argv);
    // Every command but serve is done here; the migration engine would keep the process ~10 s.
    if (program.args[0] !== 'serve') process.exit(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    console.error(
      `evalgraph: ${isAppError(error) || error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  }
}

if (require.main === module) void main();
