// A real Evalgraph server for one test file: its own database copy and Redis key prefix,
// listening on a free port, driven through HTTP like any client.
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { parseConfig } from '../../src/config';
import type { Role, Tier } from '../../src/generated/prisma/enums';
import { serve } from '../../src/serve';
import { createTestDatabase, uniqueName } from './databases';
import { deleteKeys } from './redis';

export interface GqlResponse<T = any> {
  status: number;
  headers: Headers;
  body: {
    data?: T;
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
    extensions?: any;
  };
}

export interface TestApp {
  url: string;
  graphqlUrl: string;
  adminKey: string;
  /** The project EVALGRAPH_INIT_PROJECT created (raw id). */
  projectId: string;
  server: Awaited<ReturnType<typeof serve>>;
  /** POST a GraphQL operation as the holder of `key` (default: the admin). */
  gql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { key?: string | null; headers?: Record<string, string> },
  ): Promise<GqlResponse<T>>;
  /** Creates a user with a key and (optionally) a role in a project, through the services. */
  seedUser(options?: {
    role?: Role;
    projectId?: string;
    tier?: Tier;
    keyRole?: Role;
    keyProjectId?: string;
  }): Promise<{ userId: string; key: string; email: string }>;
  seedProject(name?: string): Promise<string>;
  close(): Promise<void>;
}

export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const adminKey = `evg_test_${randomBytes(24).toString('base64url')}`;
  const redisPrefix = `${uniqueName('evalgraph_test')}:`;
  const config = parseConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    EVALGRAPH_MIGRATE_ON_START: 'false',
    EVALGRAPH_INIT_ADMIN_EMAIL: 'admin@test.local',
    EVALGRAPH_INIT_PROJECT: 'test project',
    EVALGRAPH_INIT_API_KEY: adminKey,
    EVALGRAPH_SHUTDOWN_TIMEOUT_MS: '2000',
    ...(database.url ? { DATABASE_URL: database.url } : {}),
    ...(process.env.REDIS_URL
      ? { REDIS_URL: process.env.REDIS_URL, REDIS_KEY_PREFIX: redisPrefix }
      : {}),
    ...env,
  });
  const server = await serve(config, 'all', {
    db: database.options,
    log: pino({ level: 'silent' }),
    print: () => {},
  });
  const url = server.api!.url;
  const prisma = server.deps.db.prisma;
  const project = await prisma.project.findFirstOrThrow({ where: { name: 'test project' } });

  const gql: TestApp['gql'] = async (query, variables, options = {}) => {
    const key = options.key === undefined ? adminKey : options.key;
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...options.headers,
      },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, headers: response.headers, body: await response.json() };
  };

  let seq = 0;
  const seedProject = async (name = `project ${++seq}`) =>
    (await server.services.projects.createProject({ name })).id;
  const seedUser: TestApp['seedUser'] = async (options = {}) => {
    const email = `${uniqueName('user')}@test.local`.toLowerCase();
    const user = await server.services.auth.createUser({ email, tier: options.tier });
    if (options.role)
      await server.services.projects.addMember({
        projectId: options.projectId ?? project.id,
        email,
        role: options.role,
      });
    const { key } = await server.services.auth.createApiKey(null, {
      userId: user.id,
      role: options.keyRole,
      projectId: options.keyProjectId,
    });
    return { userId: user.id, key, email };
  };

  return {
    url,
    graphqlUrl: `${url}/graphql`,
    adminKey,
    projectId: project.id,
    server,
    gql,
    seedUser,
    seedProject,
    async close() {
      await server.stop();
      await database.drop();
      if (process.env.REDIS_URL) await deleteKeys(process.env.REDIS_URL, redisPrefix);
    },
  };
}

/** The Relay global id of a row. */
export const globalId = (type: string, id: string) =>
  Buffer.from(`${type}:${id}`).toString('base64');
