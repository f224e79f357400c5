// deploy/: the systemd units and Kubernetes manifests name what the server really has: its roles,
// its health paths and port, its environment variables.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { buildProgram } from '../src/cli';
import { envSchema } from '../src/config-schema';
import { createTestApp, type TestApp } from './support/app';

const DEPLOY = path.join(__dirname, '..', 'deploy');
const ENV_NAMES = new Set(Object.keys(envSchema.shape));
const roleOption = buildProgram()
  .commands.find((c) => c.name() === 'serve')!
  .options.find((o) => o.long === '--role')!;
const ROLES = roleOption.argChoices!;

type Doc = Record<string, any>;
const manifests: Doc[] = readdirSync(path.join(DEPLOY, 'kubernetes'))
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) =>
    parseAllDocuments(readFileSync(path.join(DEPLOY, 'kubernetes', f), 'utf8')).map((d) => {
      if (d.errors.length) throw new Error(`${f}: ${d.errors.join('; ')}`);
      return d.toJS() as Doc;
    }),
  );
const one = (kind: string, name: string) => {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name === name);
  expect(found).toHaveLength(1);
  return found[0];
};
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
/** `serve --role X` in a command line or args list: X. */
const roleOf = (args: string[]) => {
  const i = args.indexOf('serve');
  expect(i).toBeGreaterThanOrEqual(0);
  expect(args[i + 1]).toBe('--role');
  return args[i + 2];
};

describe('Kubernetes manifests', () => {
  const api = () => one('Deployment', 'evalgraph-api');
  const worker = () => one('Deployment', 'evalgraph-worker');
  const container = (d: Doc) => d.spec.template.spec.containers[0];

  it('run each role of `serve --role`, from one image, with requests and limits', () => {
    expect(roleOf(container(api()).args)).toBe('api');
    expect(roleOf(container(worker()).args)).toBe('worker');
    for (const d of [api(), worker()]) {
      expect(ROLES).toContain(roleOf(container(d).args));
      expect(container(d).image).toBe(container(api()).image);
      for (const part of ['requests', 'limits'])
        expect(Object.keys(container(d).resources[part]).sort()).toEqual(['cpu', 'memory']);
      expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
    }
  });

  it('name only environment variables the configuration knows, and the Secret holds DATABASE_URL and REDIS_URL', () => {
    const configMap = one('ConfigMap', 'evalgraph');
    const secret = one('Secret', 'evalgraph');
    const named = [
      ...Object.keys(configMap.data),
      ...Object.keys(secret.stringData),
      ...[api(), worker()].flatMap((d) => (container(d).env ?? []).map((e: Doc) => e.name)),
    ];
    expect(named.filter((n) => !ENV_NAMES.has(n))).toEqual([]);
    expect(Object.keys(secret.stringData)).toEqual(
      expect.arrayContaining(['DATABASE_URL', 'REDIS_URL']),
    );
    for (const d of [api(), worker()])
      expect(container(d).envFrom).toEqual([
        { configMapRef: { name: 'evalgraph' } },
        { secretRef: { name: 'evalgraph' } },
      ]);
    // The container listens where the configuration says.
    expect(configMap.data.HOST).toBe('0.0.0.0');
    expect(container(api()).ports).toEqual([
      { name: 'http', containerPort: Number(configMap.data.PORT) },
    ]);
  });

  it('send the Service and the disruption budget to the API pods only', () => {
    const labels = api().spec.template.metadata.labels;
    const workerLabels = worker().spec.template.metadata.labels;
    const pdb = one('PodDisruptionBudget', 'evalgraph-api');
    expect(matches(pdb.spec.selector.matchLabels, labels)).toBe(true);
    expect(matches(pdb.spec.selector.matchLabels, workerLabels)).toBe(false);
    expect(pdb.spec.minAvailable).toBeLessThan(api().spec.replicas);
    const service = one('Service', 'evalgraph-api');
    expect(matches(service.spec.selector, labels)).toBe(true);
    expect(matches(service.spec.selector, workerLabels)).toBe(false);
    expect(service.spec.ports[0].targetPort).toBe('http');
  });

  describe('probe the API where the server answers', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await createTestApp();
    });
    afterAll(() => app.close());

    it('/health/live for liveness and start, /health/ready for readiness, on the http port', async () => {
      const c = container(api());
      expect(c.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(c.startupProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
        const res = await fetch(`${app.url}${probe.httpGet.path}`);
        expect(res.status).toBe(200);
      }
      // The worker answers its probes on EVALGRAPH_WORKER_PORT (worker-probes.test.ts), which its
      // probe names; liveness only (no Service sends it requests).
      const w = container(worker());
      const port = w.env.find((e: Doc) => e.name === 'EVALGRAPH_WORKER_PORT')?.value;
      expect(w.ports).toEqual([{ name: 'probes', containerPort: Number(port) }]);
      expect(w.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'probes' });
      expect(w.readinessProbe).toBeUndefined();
    });
  });
});

/** A unit file as sections of key → values (a key may repeat). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const sections: Record<string, Record<string, string[]>> = {};
  let current: Record<string, string[]> | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = sections[section[1]] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 1) throw new Error(`not a unit file line: ${raw}`);
    (current[line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
  }
  return sections;
}

describe('systemd units', () => {
  const unit = (name: string) =>
    parseUnit(readFileSync(path.join(DEPLOY, 'systemd', name), 'utf8'));

  it.each([
    ['evalgraph-api.service', 'api'],
    ['evalgraph-worker.service', 'worker'],
  ])('%s runs `serve --role %s` from the environment file, hardened', (name, role) => {
    const service = unit(name).Service;
    expect(service.ExecStart).toHaveLength(1);
    const args = service.ExecStart[0].split(/\s+/);
    expect(args[0]).toMatch(/^\/.+\/node$/);
    expect(args[1]).toMatch(/\/bin\/evalgraph\.js$/);
    expect(roleOf(args)).toBe(role);
    expect(ROLES).toContain(role);
    expect(service.EnvironmentFile).toEqual(['/etc/evalgraph/evalgraph.env']);
    for (const [key, value] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['PrivateTmp', 'yes'],
      ['KillSignal', 'SIGTERM'],
    ])
      expect(service[key]).toEqual([value]);
    for (const env of service.Environment ?? [])
      expect(ENV_NAMES).toContain(env.slice(0, env.indexOf('=')));
  });

  it('its environment file names only variables the configuration knows', () => {
    const names = readFileSync(path.join(DEPLOY, 'systemd', 'evalgraph.env'), 'utf8')
      .split('\n')
      .map((l) => /^#?([A-Z][A-Z0-9_]*)=/.exec(l.trim())?.[1])
      .filter((n): n is string => !!n);
    expect(names).toEqual(expect.arrayContaining(['DATABASE_URL', 'REDIS_URL']));
    expect(names.filter((n) => !ENV_NAMES.has(n))).toEqual([]);
  });
});
