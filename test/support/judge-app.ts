// A test app judging with a fake LLM, for the whole of a test file: both started before its first
// test and closed after its last, the fake's rules and calls cleared after each test.
import { createTestApp, type TestApp } from './app';
import { judgeEnv, startFakeLlm, type FakeLlm } from './fake-llm';

/**
 * Registers the file's hooks. `started` gets the app and the fake before the first test (for the
 * file's own variables: `(s) => ({ app, fake } = s)`).
 */
export function judgeTestApp(
  env: Record<string, string>,
  started: (servers: { app: TestApp; fake: FakeLlm }) => void,
) {
  let app: TestApp | undefined;
  let fake: FakeLlm | undefined;
  beforeAll(async () => {
    fake = await startFakeLlm();
    app = await createTestApp({ ...judgeEnv(fake), ...env });
    started({ app, fake });
  });
  afterEach(() => fake?.reset());
  afterAll(async () => {
    await app?.close();
    await fake?.close();
  });
}
