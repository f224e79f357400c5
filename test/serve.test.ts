// `evalgraph serve` as a user starts it: the first start on an empty database prints the admin key
// once; EVALGRAPH_INIT_* create the operator's admin, project and key; SIGTERM drains and exits 0.
import { execSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from './support/databases';
import { startServeProcess } from './support/process';

// Every step starts a child process (the CLI or the server) on a fresh database: minutes on a busy machine.
jest.setTimeout(240_000);

async function storage(): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-serve-'));
  const db: TestDatabase | null = process.env.DATABASE_URL ? await createTestDatabase() : null;
  return {
    env: db
      ? { DATABASE_URL: db.url!, EVALGRAPH_DATA_DIR: dir }
      : { DATABASE_URL: '', EVALGRAPH_DATA_DIR: dir },
    cleanup: async () => {
      await db?.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const gqlAt = async (
  url: string,
  key: string,
  query: string,
  variables: Record<string, unknown> = {},
) =>
  (
    await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    })
  ).json();
const viewer = (url: string, key: string) =>
  gqlAt(url, key, '{ viewer { email isAdmin } projects { edges { node { name } } } }');

describe('serve', () => {
  it('prints a generated admin key once, on the first start only, and survives restarts', async () => {
    const s = await storage();
    try {
      const first = await startServeProcess(s.env);
      const key = /\n\s+(evg_[A-Za-z0-9_-]+)\n/.exec(first.output())?.[1];
      expect(key).toBeDefined();
      expect(first.output()).toMatch(/GraphiQL/);
      expect((await viewer(first.url, key!)).data).toEqual({
        viewer: { email: 'admin@evalgraph.local', isAdmin: true },
        projects: { edges: [{ node: { name: 'Default' } }] },
      });
      // The banner's first minute: GraphiQL's URL, the default project's id, and a curl that ingests one span into it.
      expect(first.output()).toContain(`GraphiQL: ${first.url}/graphql`);
      const project = /Default project id: (\S+)/.exec(first.output())?.[1];
      const ids = await gqlAt(first.url, key!, '{ projects { edges { node { id } } } }');
      expect(project).toBe(ids.data.projects.edges[0].node.id);
      const curl = /Send one span to it over OTLP:\n\n([\s\S]+?)\n\n/.exec(first.output())?.[1];
      expect(curl).toMatch(/^\s+curl /);
      expect(execSync(curl!, { shell: '/bin/bash', encoding: 'utf8' })).toBe('{}');
      const traces = await gqlAt(
        first.url,
        key!,
        'query($p: ID!) { traces(projectId: $p) { edges { node { name spans { edges { node { kind model inputTokens outputTokens } } } } } } }',
        { p: project },
      );
      expect(traces.data.traces.edges).toEqual([
        {
          node: {
            name: 'hello evalgraph',
            spans: {
              edges: [
                { node: { kind: 'LLM', model: 'gpt-4o-mini', inputTokens: 12, outputTokens: 34 } },
              ],
            },
          },
        },
      ]);
      expect(await first.stop('SIGTERM')).toBe(0);

      const second = await startServeProcess(s.env);
      expect(second.output()).not.toMatch(/evg_/);
      expect((await viewer(second.url, key!)).data.viewer.email).toBe('admin@evalgraph.local');
      expect(await second.stop('SIGINT')).toBe(0);
    } finally {
      await s.cleanup();
    }
  });

  it('creates the admin, project and key named by EVALGRAPH_INIT_* once, and never prints the key', async () => {
    const s = await storage();
    const init = {
      EVALGRAPH_INIT_ADMIN_EMAIL: 'root@corp.example',
      EVALGRAPH_INIT_PROJECT: 'production',
      EVALGRAPH_INIT_API_KEY: 'operator-chosen-key-0123456789-abcdefghij',
    };
    try {
      for (let i = 0; i < 2; i += 1) {
        const server = await startServeProcess({ ...s.env, ...init });
        expect(server.output()).not.toContain(init.EVALGRAPH_INIT_API_KEY);
        expect((await viewer(server.url, init.EVALGRAPH_INIT_API_KEY)).data).toEqual({
          viewer: { email: 'root@corp.example', isAdmin: true },
          projects: { edges: [{ node: { name: 'production' } }] },
        });
        expect(await server.stop()).toBe(0);
      }
    } finally {
      await s.cleanup();
    }
  });

  it('refuses to run the roles apart on the embedded database', async () => {
    if (process.env.DATABASE_URL) {
      // With Postgres the roles run apart: an API-only process answers, with no worker in it.
      const s = await storage();
      try {
        const api = await startServeProcess(
          {
            ...s.env,
            EVALGRAPH_INIT_ADMIN_EMAIL: 'a@b.example',
            EVALGRAPH_INIT_API_KEY: 'k'.repeat(40),
          },
          ['--role', 'api'],
        );
        expect((await viewer(api.url, 'k'.repeat(40))).data.viewer.email).toBe('a@b.example');
        expect(await api.stop()).toBe(0);
      } finally {
        await s.cleanup();
      }
      return;
    }
    const s = await storage();
    try {
      await expect(startServeProcess(s.env, ['--role', 'api'])).rejects.toThrow(/one owner/);
    } finally {
      await s.cleanup();
    }
  });
});
