// GraphiQL as a person uses it, in a real browser (Debian's chromium driven by playwright-core)
// whose network reaches loopback only: the page loads without internet, a key goes in the Headers
// tab, the examples run, and nothing is fetched from outside our origin or refused by the page's
// Content-Security-Policy. Screenshots land in test-results/.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createTestApp, type TestApp } from './support/app';

// Starting a browser and parsing GraphiQL's 5 MB script takes a while on a busy machine.
jest.setTimeout(180_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.resolve(__dirname, '..', 'test-results');

let app: TestApp;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`,
    );
  mkdirSync(SHOTS, { recursive: true });
  app = await createTestApp();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Every host name but loopback fails to resolve, and Chromium's own background traffic is off.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

interface Session {
  page: Page;
  /** Requests to any origin but the server's. */
  foreign: string[];
  /** Console messages about the Content-Security-Policy. */
  refused: string[];
}

async function openGraphiQL(): Promise<Session & { csp: string | null }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const origin = new URL(app.url).origin;
  const foreign: string[] = [];
  const refused: string[] = [];
  // Worker scripts and their fetches count too: the context sees every request of its pages.
  context.on('request', (request) => {
    if (!request.url().startsWith(`${origin}/`)) foreign.push(request.url());
  });
  await context.route('**/*', (route) =>
    route.request().url().startsWith(`${origin}/`) ? route.continue() : route.abort(),
  );
  const page = await context.newPage();
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
  });
  const response = await page.goto(`${app.url}/graphql`);
  await page.locator('.graphiql-query-editor .view-line').first().waitFor({ timeout: 90_000 });
  return { page, foreign, refused, csp: response?.headers()['content-security-policy'] ?? null };
}

async function replaceEditorText(page: Page, tab: 'Variables' | 'Headers', text: string) {
  await page.getByRole('button', { name: tab, exact: true }).click();
  await page.locator('.graphiql-editor-tool .graphiql-editor').filter({ visible: true }).click();
  await page.keyboard.press('Control+A');
  // Typed over a selection, a bracket would surround it instead of replacing it.
  await page.keyboard.press('Delete');
  // As one insertion, on one line: typed key by key, or over several lines, the editor would close
  // brackets and indent by itself.
  await page.keyboard.insertText(text);
}

/** Runs one of the examples from the ▶ button's menu, as a person picks it. */
async function run(page: Page, operation: string) {
  await page.getByRole('button', { name: 'Execute query (Ctrl-Enter)' }).click();
  await page.getByRole('menuitem', { name: operation, exact: true }).click();
}

const resultPane = (page: Page) => page.locator('.graphiql-response');

async function variablesOf(page: Page): Promise<Record<string, unknown>> {
  const options = JSON.parse((await page.locator('#graphiql-options').textContent())!);
  return JSON.parse(options.variables);
}

describe('GraphiQL in a browser', () => {
  it('loads from our origin alone, runs query Viewer with a key from the Headers tab, and streams evaluation progress', async () => {
    const { page, foreign, refused, csp } = await openGraphiQL();
    try {
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");

      await replaceEditorText(
        page,
        'Headers',
        JSON.stringify({ Authorization: `Bearer ${app.adminKey}` }),
      );
      await run(page, 'Viewer');
      await resultPane(page).getByText('"admin@test.local"').waitFor({ timeout: 30_000 });
      await page.screenshot({ path: path.join(SHOTS, 'graphiql-viewer.png') });

      // The evaluation example: create it, then watch evaluationProgress with its id.
      await run(page, 'CreateEvaluation');
      await resultPane(page).getByText('"createEvaluation"').waitFor({ timeout: 30_000 });
      // The pane wraps long lines; an id has no spaces.
      const created = /"id":"([^"]+)"/.exec(
        (await resultPane(page).innerText()).replace(/\s+/g, ''),
      )?.[1];
      expect(created).toBeDefined();
      await replaceEditorText(
        page,
        'Variables',
        JSON.stringify({ ...(await variablesOf(page)), evaluationId: created }),
      );
      await run(page, 'EvaluationProgress');
      await resultPane(page).getByText('"evaluationProgress"').waitFor({ timeout: 30_000 });
      await resultPane(page).getByText('"status": "COMPLETED"').waitFor({ timeout: 30_000 });
      const progress = await resultPane(page).innerText();
      expect(progress).toMatch(/"total":\s*2/);
      expect(progress).toMatch(/"passed":\s*1/);
      await page.screenshot({ path: path.join(SHOTS, 'graphiql-evaluation-progress.png') });
    } catch (error) {
      // What the page showed when it went wrong, for whoever reads the CI log.
      await page.screenshot({ path: path.join(SHOTS, 'graphiql-failure.png') });
      throw error;
    }

    expect(foreign).toEqual([]);
    expect(refused).toEqual([]);
    await page.context().close();
  });
});
