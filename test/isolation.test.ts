// A user never sees another project's data: every query root is checked here, and the last test
// fails when a new root field appears without being added to this file.
import { getSchema } from '../src/schema';
import { createTestApp, globalId, type TestApp } from './support/app';

let app: TestApp;
let mine: string;
let theirs: string;
let me: { userId: string; key: string };
let them: { userId: string; key: string };
let theirKeyId: string;

beforeAll(async () => {
  app = await createTestApp();
  mine = await app.seedProject('mine');
  theirs = await app.seedProject('theirs');
  me = await app.seedUser({ role: 'ADMIN', projectId: mine });
  them = await app.seedUser({ role: 'ADMIN', projectId: theirs });
  theirKeyId = (await app.server.deps.db.prisma.apiKey.findFirstOrThrow({ where: { userId: them.userId } })).id;
});
afterAll(() => app.close());

const covered = new Set<string>();
const root = (name: string) => covered.add(name);

describe('tenant isolation for every query root', () => {
  it('project(id): another project is refused', async () => {
    root('project');
    const ok = await app.gql('query($id: ID!) { project(id: $id) { name } }', { id: globalId('Project', mine) }, { key: me.key });
    expect(ok.body.data.project.name).toBe('mine');
    const denied = await app.gql('query($id: ID!) { project(id: $id) { name } }', { id: globalId('Project', theirs) }, { key: me.key });
    expect(denied.body.data?.project ?? null).toBeNull();
    expect(denied.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('projects: lists only my projects', async () => {
    root('projects');
    const res = await app.gql('{ projects(first: 100) { totalCount edges { node { name } } } }', {}, { key: me.key });
    expect(res.body.data.projects).toEqual({ totalCount: 1, edges: [{ node: { name: 'mine' } }] });
  });

  it('node / nodes: another project, user or key is refused by its type', async () => {
    root('node');
    root('nodes');
    for (const id of [globalId('Project', theirs), globalId('User', them.userId), globalId('ApiKey', theirKeyId)]) {
      const res = await app.gql('query($id: ID!) { node(id: $id) { id } }', { id }, { key: me.key });
      expect(res.body.data?.node ?? null).toBeNull();
      expect(res.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    const many = await app.gql('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: [globalId('Project', mine), globalId('Project', theirs)] }, { key: me.key });
    expect(many.body.data.nodes[0]).toEqual({ id: globalId('Project', mine) });
    expect(many.body.data.nodes[1]).toBeNull();
    expect(many.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('viewer: is always the key owner, and teammates are visible only through a shared project', async () => {
    root('viewer');
    const res = await app.gql('{ viewer { id } }', { }, { key: me.key });
    expect(res.body.data.viewer.id).toBe(globalId('User', me.userId));
    const members = await app.gql('query($id: ID!) { project(id: $id) { members { edges { node { user { id } } } } } }', { id: globalId('Project', mine) }, { key: me.key });
    expect(members.body.data.project.members.edges.map((e: any) => e.node.user.id)).toEqual([globalId('User', me.userId)]);
  });

  it('covers every query root field of the schema', () => {
    const roots = Object.keys(getSchema().getQueryType()!.getFields()).sort();
    expect(roots.filter((name) => !covered.has(name))).toEqual([]);
  });
});
