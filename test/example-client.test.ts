// The example client (examples/run-evaluation.ts) run as its own process against a server that
// only runs trusted documents: it creates an evaluation by hash, follows the progress
// subscription to the end, and prints a progress bar.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createTestApp, globalId, type TestApp } from './support/app';

let app: TestApp;

beforeAll(async () => {
  app = await createTestApp({ PERSISTED_QUERY_ONLY: 'true' });
});
afterAll(() => app.close());

it('runs an evaluation and prints its live progress to 100 %', async () => {
  const developer = await app.seedUser({ role: 'DEVELOPER' });
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'examples/run-evaluation.ts'],
    {
      cwd: path.resolve(__dirname, '..'),
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        EVALGRAPH_URL: app.url,
        EVALGRAPH_API_KEY: developer.key,
        EVALGRAPH_PROJECT_ID: globalId('Project', app.projectId),
      },
      timeout: 60_000,
    },
  );
  const lines = stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^evaluation \S+ (QUEUED|RUNNING|COMPLETED)$/);
  const bars = lines.filter((l) => l.startsWith('['));
  expect(bars.length).toBeGreaterThanOrEqual(1);
  expect(bars.at(-1)).toMatch(/^\[█{30}\] 100% 4\/4 passed 3 failed 1 errored 0 COMPLETED$/);
  expect(lines.at(-1)).toBe('exact answer: pass rate 75%, mean score 0.75');
}, 90_000);

it('a non-admin key could not have run the same operations as text', async () => {
  const developer = await app.seedUser({ role: 'DEVELOPER' });
  const res = await app.gql(
    'mutation($input: CreateEvaluationInput!) { createEvaluation(input: $input) { evaluation { id } } }',
    { input: {} },
    { key: developer.key },
  );
  expect(res.status).toBe(403);
  expect(res.body.errors![0].extensions!.code).toBe('PERSISTED_QUERY_ONLY');
});
