// Datasets that keep their items, through HTTP: items edited and archived under stable ids, every
// change a version that reads back exactly, runs that record the version they used (and run on an
// old one), items copied from spans, the runs of a dataset, and who may do what.
import { randomUUID } from 'node:crypto';
import { createTestApp, globalId, type TestApp } from './support/app';
import { CREATE, waitFor } from './support/evaluations';
import { ingest, span } from './support/spans';

let app: TestApp;

beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const ITEM = 'id input expectedOutput output contexts metadata archived version';

/** Runs an operation as the admin (or `key`) and returns its data; fails on any error. */
async function ok(query: string, variables: Record<string, unknown>, key?: string) {
  const res = await app.gql(query, variables, { key });
  expect(res.body.errors).toBeUndefined();
  return res.body.data;
}

/** The error code (and path) an operation answers. */
async function refusal(query: string, variables: Record<string, unknown>, key?: string) {
  const res = await app.gql(query, variables, { key });
  return {
    code: res.body.errors?.[0].extensions?.code,
    path: res.body.errors?.[0].extensions?.path,
  };
}

async function createDataset(name: string, items: unknown[], projectId = app.projectId) {
  const data = await ok(
    `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { dataset { id version items { edges { node { ${ITEM} } } } } } }`,
    { input: { projectId: globalId('Project', projectId), name, items } },
  );
  const dataset = data.createDataset.dataset;
  return {
    id: dataset.id as string,
    version: dataset.version as string,
    items: nodes(dataset.items),
  };
}

const nodes = (connection: { edges: { node: any }[] }) => connection.edges.map((e) => e.node);

const DATASET = `query($id: ID!, $version: DateTime, $archived: Boolean) { dataset(id: $id) {
  version
  items(first: 100, version: $version, includeArchived: $archived) { totalCount edges { node { ${ITEM} } } }
} }`;

/** The dataset's version and its items as of `version` (default: latest). */
async function itemsOf(id: string, version?: string, includeArchived = false) {
  const data = await ok(DATASET, { id, version, archived: includeArchived });
  expect(data.dataset.items.totalCount).toBe(data.dataset.items.edges.length);
  return { version: data.dataset.version as string, items: nodes(data.dataset.items) };
}

const UPDATE = `mutation($input: UpdateDatasetItemInput!) { updateDatasetItem(input: $input) {
  datasetItem { ${ITEM} } dataset { version } } }`;
const ARCHIVE = `mutation($id: ID!) { archiveDatasetItem(input: { id: $id }) {
  datasetItem { ${ITEM} } dataset { version } } }`;
const ADD = `mutation($input: AddDatasetItemsInput!) { addDatasetItems(input: $input) { addedCount dataset { version } } }`;
const FROM_SPANS = `mutation($input: AddDatasetItemsFromSpansInput!) { addDatasetItemsFromSpans(input: $input) {
  addedCount dataset { version items(first: 100) { edges { node { ${ITEM} sourceSpanId sourceSpan { id name } } } } } } }`;

const later = (a: string, b: string) => Date.parse(a) > Date.parse(b);

describe('items edited and archived, every change a version', () => {
  it('keeps ids, makes a version per change, and reads any version exactly as it was', async () => {
    const created = await createDataset('versions', [
      { input: 'France', expectedOutput: 'Paris', metadata: { region: 'eu' } },
      { input: 'Peru', expectedOutput: 'Lima', contexts: ['Lima is the capital of Peru.'] },
    ]);
    const v1 = created.version;
    const [france, peru] = created.items;
    expect(created.items.map((i: any) => [i.input, i.archived, i.version])).toEqual([
      ['France', false, v1],
      ['Peru', false, v1],
    ]);

    // An edit: the id stays, given fields change (null clears), others stay.
    const edited = (
      await ok(UPDATE, {
        input: { id: france.id, expectedOutput: 'Paris, France', metadata: null },
      })
    ).updateDatasetItem;
    const v2 = edited.dataset.version;
    expect(later(v2, v1)).toBe(true);
    expect(edited.datasetItem).toEqual({
      ...france,
      expectedOutput: 'Paris, France',
      metadata: null,
      version: v2,
    });
    // Nothing changed: no new version.
    const same = await ok(UPDATE, { input: { id: france.id, expectedOutput: 'Paris, France' } });
    expect(same.updateDatasetItem.dataset.version).toBe(v2);

    const archived = (await ok(ARCHIVE, { id: peru.id })).archiveDatasetItem;
    const v3 = archived.dataset.version;
    expect(later(v3, v2)).toBe(true);
    expect(archived.datasetItem).toMatchObject({ id: peru.id, archived: true, version: v3 });
    // Archiving it again changes nothing.
    expect((await ok(ARCHIVE, { id: peru.id })).archiveDatasetItem.dataset.version).toBe(v3);

    const added = await ok(ADD, { input: { datasetId: created.id, items: [{ input: 'Chad' }] } });
    const v4 = added.addDatasetItems.dataset.version;
    expect(later(v4, v3)).toBe(true);

    // Now: the archived item only when asked for.
    const now = await itemsOf(created.id);
    expect(now.version).toBe(v4);
    expect(now.items.map((i: any) => i.input)).toEqual(['France', 'Chad']);
    expect((await itemsOf(created.id, undefined, true)).items.map((i: any) => i.input)).toEqual([
      'France',
      'Peru',
      'Chad',
    ]);
    // Each version reads exactly as it was.
    expect((await itemsOf(created.id, v1)).items).toEqual(created.items);
    expect((await itemsOf(created.id, v2)).items).toEqual([edited.datasetItem, peru]);
    expect((await itemsOf(created.id, v3)).items).toEqual([edited.datasetItem]);
    expect((await itemsOf(created.id, v3, true)).items).toEqual([
      edited.datasetItem,
      archived.datasetItem,
    ]);
    // A time between versions reads the version then; one before the first, nothing.
    const between = new Date(Date.parse(v2) - 1).toISOString();
    expect((await itemsOf(created.id, between)).items).toEqual(created.items);
    expect((await itemsOf(created.id, new Date(Date.parse(v1) - 1).toISOString())).items).toEqual(
      [],
    );

    // The versions, newest first, with what each changed; paged.
    const VERSIONS = `query($id: ID!, $after: String) { dataset(id: $id) { versions(first: 3, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { version itemCount addedCount updatedCount archivedCount } } } } }`;
    const page1 = (await ok(VERSIONS, { id: created.id })).dataset.versions;
    expect(page1.totalCount).toBe(4);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await ok(VERSIONS, { id: created.id, after: page1.pageInfo.endCursor })).dataset
      .versions;
    expect(page2.pageInfo.hasNextPage).toBe(false);
    expect([...nodes(page1), ...nodes(page2)]).toEqual([
      { version: v4, itemCount: 2, addedCount: 1, updatedCount: 0, archivedCount: 0 },
      { version: v3, itemCount: 1, addedCount: 0, updatedCount: 0, archivedCount: 1 },
      { version: v2, itemCount: 2, addedCount: 0, updatedCount: 1, archivedCount: 0 },
      { version: v1, itemCount: 2, addedCount: 2, updatedCount: 0, archivedCount: 0 },
    ]);
  });

  it('refuses an edit that would leave the item invalid, and changes nothing', async () => {
    const { id, version, items } = await createDataset('invalid edits', [{ input: 'x' }]);
    expect(await refusal(UPDATE, { input: { id: items[0].id, input: null } })).toEqual({
      code: 'BAD_USER_INPUT',
      path: ['input', 'input'],
    });
    expect(
      await refusal(UPDATE, {
        input: { id: items[0].id, contexts: Array.from({ length: 101 }, () => 'c') },
      }),
    ).toEqual({ code: 'BAD_USER_INPUT', path: ['input', 'contexts'] });
    expect(await itemsOf(id)).toEqual({ version, items });
  });

  it('pages items in the order they were added, through edits', async () => {
    const { id, items } = await createDataset(
      'paged',
      ['a', 'b', 'c'].map((input) => ({ input })),
    );
    await ok(UPDATE, { input: { id: items[0].id, input: 'a2' } });
    const PAGE = `query($id: ID!, $after: String) { dataset(id: $id) { items(first: 2, after: $after) {
      pageInfo { hasNextPage endCursor } edges { node { input } } } } }`;
    const first = (await ok(PAGE, { id })).dataset.items;
    const second = (await ok(PAGE, { id, after: first.pageInfo.endCursor })).dataset.items;
    expect([...nodes(first), ...nodes(second)].map((i: any) => i.input)).toEqual(['a2', 'b', 'c']);
    expect([first.pageInfo.hasNextPage, second.pageInfo.hasNextPage]).toEqual([true, false]);
  });

  it('keeps half of a character (a text cut inside an emoji) as U+FFFD, on create and on edit', async () => {
    const cut = 'smile \ud83d';
    const replaced = 'smile \ufffd';
    const { id, items } = await createDataset('cut text', [
      { input: { q: cut }, metadata: { k: cut } },
    ]);
    expect(items[0]).toMatchObject({ input: { q: replaced }, metadata: { k: replaced } });
    await ok(UPDATE, { input: { id: items[0].id, expectedOutput: cut } });
    expect((await itemsOf(id)).items[0]).toMatchObject({ expectedOutput: replaced });
  });
});

describe('runs on a dataset', () => {
  const criteria = [
    {
      type: 'string_check',
      name: 'exact',
      input: '{{sample.output_text}}',
      reference: '{{item.expected_output}}',
      operation: 'eq',
    },
  ];
  const RUN_ITEMS = `query($id: ID!) { evaluation(id: $id) { datasetVersion dataset { id }
    items(first: 100) { edges { node { datasetItemId input output } } } } }`;
  let dataset: Awaited<ReturnType<typeof createDataset>>;
  const runs: string[] = [];

  async function run(dataSource: Record<string, unknown>) {
    const data = await ok(CREATE, {
      input: {
        projectId: globalId('Project', app.projectId),
        name: `run ${runs.length + 1}`,
        testingCriteria: criteria,
        dataSource,
      },
    });
    const id = data.createEvaluation.evaluation.id;
    runs.push(id);
    const done = await waitFor(app, id);
    const items = (await ok(RUN_ITEMS, { id })).evaluation;
    return { id, done, ...items, items: nodes(items.items) };
  }

  it('records the version a run used, and runs again on an old version with its items', async () => {
    dataset = await createDataset('runs', [
      { input: 'q1', expectedOutput: 'a', output: 'a' },
      { input: 'q2', expectedOutput: 'b', output: 'x' },
    ]);
    const v1 = dataset.version;
    const [q1, q2] = dataset.items;
    const first = await run({ datasetId: dataset.id });
    expect(first.datasetVersion).toBe(v1);
    expect(first.dataset.id).toBe(dataset.id);
    expect(first.done.resultCounts).toMatchObject({ total: 2, passed: 1, failed: 1 });
    expect(first.done.perTestingCriteriaResults[0]).toMatchObject({ passed: 1, failed: 1 });

    const v2 = (await ok(UPDATE, { input: { id: q2.id, output: 'b' } })).updateDatasetItem.dataset
      .version;
    const v3 = (await ok(ARCHIVE, { id: q1.id })).archiveDatasetItem.dataset.version;
    await ok(ADD, {
      input: { datasetId: dataset.id, items: [{ input: 'q3', expectedOutput: 'c', output: 'd' }] },
    });
    const latest = await run({ datasetId: dataset.id });
    const v4 = (await itemsOf(dataset.id)).version;
    expect(latest.datasetVersion).toBe(v4);
    expect(latest.items.map((i: any) => [i.input, i.output])).toEqual([
      ['q2', 'b'],
      ['q3', 'd'],
    ]);

    // Again on the first version: its items as they were then, under the same ids.
    const again = await run({ datasetId: dataset.id, datasetVersion: v1 });
    expect(again.datasetVersion).toBe(v1);
    expect(again.items).toEqual(first.items);
    expect(again.items.map((i: any) => [i.datasetItemId, i.input, i.output])).toEqual([
      [q1.id, 'q1', 'a'],
      [q2.id, 'q2', 'x'],
    ]);
    expect(again.done.resultCounts).toMatchObject({ total: 2, passed: 1, failed: 1 });
    // A time between two versions names the version then.
    const between = await run({
      datasetId: dataset.id,
      datasetVersion: new Date(Date.parse(v3) - 1).toISOString(),
    });
    expect(between.datasetVersion).toBe(v2);
    expect(between.items.map((i: any) => [i.input, i.output])).toEqual([
      ['q1', 'a'],
      ['q2', 'b'],
    ]);
    expect(between.done.resultCounts).toMatchObject({ total: 2, passed: 2, failed: 0 });
  });

  it('refuses a version before the first, and a version without a dataset', async () => {
    const create = (dataSource: unknown) =>
      refusal(CREATE, {
        input: {
          projectId: globalId('Project', app.projectId),
          name: 'bad version',
          testingCriteria: criteria,
          dataSource,
        },
      });
    const before = new Date(Date.parse(dataset.version) - 1).toISOString();
    expect(await create({ datasetId: dataset.id, datasetVersion: before })).toEqual({
      code: 'BAD_USER_INPUT',
      path: ['input', 'dataSource', 'datasetVersion'],
    });
    expect(
      await create({ items: [{ input: 'x', output: 'y' }], datasetVersion: dataset.version }),
    ).toEqual({ code: 'BAD_USER_INPUT', path: ['input', 'dataSource', 'datasetVersion'] });
    expect(
      await app.server.deps.db.prisma.evaluation.count({ where: { name: 'bad version' } }),
    ).toBe(0);
  });

  it('lists its runs newest first, each with its version and per-grader summary', async () => {
    // Another run, not on this dataset, is not one of its runs.
    await ok(CREATE, {
      input: {
        projectId: globalId('Project', app.projectId),
        name: 'inline',
        testingCriteria: criteria,
        dataSource: { items: [{ input: 'q', expectedOutput: 'a', output: 'a' }] },
      },
    });
    const RUNS = `query($id: ID!, $first: Int, $after: String) { dataset(id: $id) { runs(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { id name datasetVersion resultCounts { total passed failed }
        perTestingCriteriaResults { name meanScore passRate passed failed errored } } } } } }`;
    const all = (await ok(RUNS, { id: dataset.id, first: 10 })).dataset.runs;
    expect(all.totalCount).toBe(4);
    expect(nodes(all).map((r: any) => r.id)).toEqual([...runs].reverse());
    const summaries = nodes(all).map((r: any) => [
      r.name,
      r.resultCounts,
      r.perTestingCriteriaResults,
    ]);
    const grader = (passed: number, failed: number) => [
      {
        name: 'exact',
        meanScore: passed / (passed + failed),
        passRate: passed / (passed + failed),
        passed,
        failed,
        errored: 0,
      },
    ];
    expect(summaries).toEqual([
      ['run 4', { total: 2, passed: 2, failed: 0 }, grader(2, 0)],
      ['run 3', { total: 2, passed: 1, failed: 1 }, grader(1, 1)],
      ['run 2', { total: 2, passed: 1, failed: 1 }, grader(1, 1)],
      ['run 1', { total: 2, passed: 1, failed: 1 }, grader(1, 1)],
    ]);
    const page = (await ok(RUNS, { id: dataset.id, first: 3 })).dataset.runs;
    const rest = (await ok(RUNS, { id: dataset.id, first: 3, after: page.pageInfo.endCursor }))
      .dataset.runs;
    expect([...nodes(page), ...nodes(rest)].map((r: any) => r.id)).toEqual([...runs].reverse());
  });
});

describe('items from spans', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 5, 12, 0, s)).toISOString();
  let spanIds: Record<string, string>;

  beforeAll(async () => {
    const sent = await ingest(app, app.projectId, [
      span({ traceId: 'rag-1', spanId: 'root', name: 'agent', startTime: at(0), userId: 'u-ds' }),
      span({
        traceId: 'rag-1',
        spanId: 'ret-1',
        parentSpanId: 'root',
        kind: 'RETRIEVER',
        name: 'search',
        startTime: at(1),
        output: JSON.stringify([{ page_content: 'doc one' }, 'doc two']),
      }),
      span({
        traceId: 'rag-1',
        spanId: 'ret-2',
        parentSpanId: 'root',
        kind: 'RETRIEVER',
        name: 'search',
        startTime: at(2),
        output: 'doc three',
      }),
      span({
        traceId: 'rag-1',
        spanId: 'llm',
        parentSpanId: 'root',
        kind: 'LLM',
        name: 'answer',
        startTime: at(3),
        input: 'why?',
        output: 'because',
        metadata: { route: 'faq' },
      }),
      span({
        traceId: 'plain-2',
        spanId: 'llm',
        kind: 'LLM',
        name: 'answer',
        startTime: at(10),
        input: 'hi',
        output: 'hello',
        userId: 'u-ds',
      }),
    ]);
    expect(sent.body.data.ingestSpans.rejectedCount).toBe(0);
    const data = await ok(
      `query($p: ID!) { traces(projectId: $p, filter: { userId: "u-ds" }) { edges { node { externalId
        spans(first: 10) { edges { node { id externalId } } } } } } }`,
      { p: globalId('Project', app.projectId) },
    );
    spanIds = {};
    for (const trace of nodes(data.traces))
      for (const s of nodes(trace.spans)) spanIds[`${trace.externalId}/${s.externalId}`] = s.id;
  });

  it("copies input, output as the expected output, the trace's retrieved contexts and a link back", async () => {
    const { id } = await createDataset('from spans', []);
    const data = (
      await ok(FROM_SPANS, {
        input: {
          datasetId: id,
          spanIds: [spanIds['rag-1/llm'], spanIds['plain-2/llm']],
          outputAs: 'EXPECTED_OUTPUT',
        },
      })
    ).addDatasetItemsFromSpans;
    expect(data.addedCount).toBe(2);
    expect(
      nodes(data.dataset.items).map((i: any) => ({
        input: i.input,
        expectedOutput: i.expectedOutput,
        output: i.output,
        contexts: i.contexts,
        metadata: i.metadata,
        sourceSpanId: i.sourceSpanId,
        sourceSpan: i.sourceSpan,
      })),
    ).toEqual([
      {
        input: 'why?',
        expectedOutput: 'because',
        output: null,
        contexts: ['doc one', 'doc two', 'doc three'],
        metadata: { route: 'faq' },
        sourceSpanId: spanIds['rag-1/llm'],
        sourceSpan: { id: spanIds['rag-1/llm'], name: 'answer' },
      },
      {
        input: 'hi',
        expectedOutput: 'hello',
        output: null,
        contexts: [],
        metadata: null,
        sourceSpanId: spanIds['plain-2/llm'],
        sourceSpan: { id: spanIds['plain-2/llm'], name: 'answer' },
      },
    ]);
  });

  it('keeps the output in the metadata under the key given, and selects spans by a filter', async () => {
    const { id, version } = await createDataset('from spans as metadata', []);
    const data = (
      await ok(FROM_SPANS, {
        input: {
          datasetId: id,
          filter: { filter: { userId: 'u-ds' }, spanName: 'answer' },
          outputAs: 'METADATA',
          metadataKey: 'reference',
        },
      })
    ).addDatasetItemsFromSpans;
    expect(data.addedCount).toBe(2);
    expect(later(data.dataset.version, version)).toBe(true);
    // Newest traces first, as the traces data source selects them.
    expect(
      nodes(data.dataset.items).map((i: any) => [
        i.input,
        i.expectedOutput,
        i.metadata,
        i.contexts.length,
        i.sourceSpanId,
      ]),
    ).toEqual([
      ['hi', null, { reference: 'hello' }, 0, spanIds['plain-2/llm']],
      ['why?', null, { route: 'faq', reference: 'because' }, 3, spanIds['rag-1/llm']],
    ]);
  });

  it('wants exactly one of spanIds and filter, and adds nothing when a span is not found', async () => {
    const { id, version } = await createDataset('from spans refused', []);
    const add = (input: Record<string, unknown>) =>
      refusal(FROM_SPANS, { input: { datasetId: id, outputAs: 'EXPECTED_OUTPUT', ...input } });
    expect(await add({})).toEqual({ code: 'BAD_USER_INPUT', path: ['input'] });
    expect(
      await add({ spanIds: [spanIds['rag-1/llm']], filter: { filter: { userId: 'u-ds' } } }),
    ).toEqual({ code: 'BAD_USER_INPUT', path: ['input'] });
    expect(await add({ spanIds: [spanIds['rag-1/llm'], globalId('Span', randomUUID())] })).toEqual({
      code: 'NOT_FOUND',
      path: ['input', 'spanIds', 1],
    });
    expect(await itemsOf(id)).toEqual({ version, items: [] });
  });
});

describe('isolation and roles', () => {
  let mine: { id: string; version: string; items: any[] };
  let theirs: string;
  let stranger: string;
  let viewer: string;
  let spanOfMine: string;

  beforeAll(async () => {
    mine = await createDataset('guarded', [{ input: 'secret', expectedOutput: 'kept' }]);
    const other = await app.seedProject();
    stranger = (await app.seedUser({ role: 'ADMIN', projectId: other })).key;
    viewer = (await app.seedUser({ role: 'VIEWER' })).key;
    theirs = (
      await ok(
        'mutation($p: ID!) { createDataset(input: { projectId: $p, name: "theirs" }) { dataset { id } } }',
        { p: globalId('Project', other) },
        stranger,
      )
    ).createDataset.dataset.id;
    await ingest(app, app.projectId, [
      span({ traceId: 'guarded', spanId: 's', name: 'answer', input: 'i', output: 'o' }),
    ]);
    const spans = await ok(
      `query($p: ID!) { traces(projectId: $p, filter: { name: "answer" }) { edges { node { externalId spans(first: 1) { edges { node { id } } } } } } }`,
      { p: globalId('Project', app.projectId) },
    );
    spanOfMine = nodes(nodes(spans.traces).find((t: any) => t.externalId === 'guarded').spans)[0]
      .id;
  });

  it("answers another project's items, datasets and spans NOT_FOUND, as missing ones", async () => {
    const item = mine.items[0].id;
    for (const id of [item, randomUUID(), 'not-a-uuid']) {
      expect(await refusal(UPDATE, { input: { id, input: 'stolen' } }, stranger)).toEqual({
        code: 'NOT_FOUND',
        path: ['input', 'id'],
      });
      expect(await refusal(ARCHIVE, { id }, stranger)).toEqual({
        code: 'NOT_FOUND',
        path: ['input', 'id'],
      });
    }
    for (const datasetId of [mine.id, globalId('Dataset', randomUUID())]) {
      expect(
        await refusal(ADD, { input: { datasetId, items: [{ input: 'x' }] } }, stranger),
      ).toEqual({ code: 'NOT_FOUND', path: ['input', 'datasetId'] });
      expect(
        await refusal(
          FROM_SPANS,
          { input: { datasetId, spanIds: [spanOfMine], outputAs: 'METADATA' } },
          stranger,
        ),
      ).toEqual({ code: 'NOT_FOUND', path: ['input', 'datasetId'] });
      expect(
        (
          await refusal(
            `query($id: ID!, $v: DateTime) { dataset(id: $id) { versions { totalCount } runs { totalCount } items(version: $v) { totalCount } } }`,
            { id: datasetId, v: mine.version },
            stranger,
          )
        ).code,
      ).toBe('NOT_FOUND');
    }
    // Their own dataset, my span: NOT_FOUND at the span.
    for (const spanId of [spanOfMine, globalId('Span', randomUUID())])
      expect(
        await refusal(
          FROM_SPANS,
          { input: { datasetId: theirs, spanIds: [spanId], outputAs: 'EXPECTED_OUTPUT' } },
          stranger,
        ),
      ).toEqual({ code: 'NOT_FOUND', path: ['input', 'spanIds', 0] });
    // Their project, my dataset at a version: NOT_FOUND at the dataset.
    const theirProject = (
      await ok('query($id: ID!) { dataset(id: $id) { project { id } } }', { id: theirs }, stranger)
    ).dataset.project.id;
    expect(
      await refusal(
        CREATE,
        {
          input: {
            projectId: theirProject,
            name: 'steal',
            testingCriteria: [
              { type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'x' },
            ],
            dataSource: { datasetId: mine.id, datasetVersion: mine.version },
          },
        },
        stranger,
      ),
    ).toEqual({ code: 'NOT_FOUND', path: ['input', 'dataSource', 'datasetId'] });
    expect(await itemsOf(mine.id)).toEqual({ version: mine.version, items: mine.items });
    expect((await itemsOf(theirs)).items).toEqual([]);
  });

  it('lets a VIEWER read versions but change nothing', async () => {
    const item = mine.items[0].id;
    for (const [query, variables] of [
      [UPDATE, { input: { id: item, input: 'changed' } }],
      [ARCHIVE, { id: item }],
      [ADD, { input: { datasetId: mine.id, items: [{ input: 'x' }] } }],
      [
        FROM_SPANS,
        { input: { datasetId: mine.id, spanIds: [spanOfMine], outputAs: 'EXPECTED_OUTPUT' } },
      ],
    ] as const)
      expect((await refusal(query, variables, viewer)).code).toBe('FORBIDDEN');
    const read = await ok(DATASET, { id: mine.id, version: mine.version }, viewer);
    expect(nodes(read.dataset.items)).toEqual(mine.items);
    expect(await itemsOf(mine.id)).toEqual({ version: mine.version, items: mine.items });
  });
});
