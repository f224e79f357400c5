// Scores through HTTP: one and many, what they may be about, validation (with and without a
// config, with the input's path), idempotent client ids, partial and all-or-nothing batches,
// reads (filters, pages, Trace.scores and Span.scores), deletion, and roles.
import { createTestApp, globalId, type TestApp } from './support/app';
import { createEvaluation, waitFor } from './support/evaluations';
import { ingest, span } from './support/spans';

let app: TestApp;
let p: string;
const ids: Record<string, string> = {};

const SCORE_FIELDS = `id clientId target name dataType value stringValue comment source userId sessionId
  authorUserId authorApiKeyId timestamp trace { externalId } span { externalId } evaluationItem { position }`;
const CREATE = `mutation($input: CreateScoreInput!) { createScore(input: $input) { score { ${SCORE_FIELDS} } } }`;
const CREATE_MANY = `mutation($input: CreateScoresInput!) { createScores(input: $input) {
  acceptedCount rejectedCount errors { index field message code } scores { id clientId name value stringValue } } }`;
const CONFIG = `mutation($input: CreateScoreConfigInput!) { createScoreConfig(input: $input) {
  scoreConfig { id name dataType minValue maxValue categories { label value } archived } } }`;
const UPDATE_CONFIG = `mutation($input: UpdateScoreConfigInput!) { updateScoreConfig(input: $input) { scoreConfig { archived maxValue } } }`;
const LIST = `query($p: ID!, $filter: ScoreFilter, $first: Int, $after: String) {
  scores(projectId: $p, filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { name value stringValue clientId } } } }`;

beforeAll(async () => {
  app = await createTestApp();
  p = globalId('Project', app.projectId);
  const res = await ingest(app, app.projectId, [
    span({
      traceId: 't1',
      spanId: 'root',
      name: 'answer',
      userId: 'end-user-1',
      sessionId: 'sess-1',
    }),
    span({
      traceId: 't1',
      spanId: 'llm',
      parentSpanId: 'root',
      name: 'chat',
      model: 'gpt-4o-mini',
    }),
    span({ traceId: 't2', spanId: 'root', name: 'other', userId: 'end-user-2' }),
  ]);
  expect(res.body.errors).toBeUndefined();
  const prisma = app.server.deps.db.prisma;
  for (const trace of await prisma.trace.findMany({ include: { spans: true } })) {
    ids[trace.externalId] = globalId('Trace', trace.id);
    for (const s of trace.spans)
      ids[`${trace.externalId}/${s.externalId}`] = globalId('Span', s.id);
  }
});
afterAll(() => app.close());

const create = (input: Record<string, unknown>, key?: string) =>
  app.gql(CREATE, { input: { projectId: p, ...input } }, { key });
const createMany = (scores: unknown[], options: { partial?: boolean; key?: string } = {}) =>
  app.gql(
    CREATE_MANY,
    { input: { projectId: p, scores, partial: options.partial ?? false } },
    { key: options.key },
  );
const list = async (filter: Record<string, unknown> = {}, first = 100) => {
  const res = await app.gql(LIST, { p, filter, first });
  expect(res.body.errors).toBeUndefined();
  return res.body.data.scores;
};
const errorOf = (res: { body: { errors?: { extensions?: Record<string, any> }[] } }) => ({
  code: res.body.errors?.[0].extensions?.code,
  path: res.body.errors?.[0].extensions?.path,
});

describe('createScore', () => {
  it('scores a trace, a span (recording its trace), a session and an evaluation item', async () => {
    const trace = await create({ traceId: ids.t1, name: 'helpful', value: 0.9, comment: 'good' });
    expect(trace.body.errors).toBeUndefined();
    const admin = await app.server.deps.db.prisma.apiKey.findFirstOrThrow({
      where: { user: { email: 'admin@test.local' } },
    });
    expect(trace.body.data.createScore.score).toMatchObject({
      target: 'TRACE',
      name: 'helpful',
      dataType: 'NUMERIC',
      value: 0.9,
      stringValue: null,
      comment: 'good',
      source: 'API',
      trace: { externalId: 't1' },
      span: null,
      authorUserId: globalId('User', admin.userId),
      authorApiKeyId: globalId('ApiKey', admin.id),
    });

    const spanScore = await create({ spanId: ids['t1/llm'], name: 'tone', stringValue: 'polite' });
    expect(spanScore.body.data.createScore.score).toMatchObject({
      target: 'SPAN',
      dataType: 'CATEGORICAL',
      stringValue: 'polite',
      span: { externalId: 'llm' },
      trace: { externalId: 't1' },
    });

    const session = await create({
      sessionId: 'sess-1',
      name: 'thumbs',
      dataType: 'BOOLEAN',
      stringValue: 'TRUE',
      source: 'FEEDBACK',
      userId: 'end-user-1',
      timestamp: '2026-01-02T03:04:05.000Z',
    });
    expect(session.body.data.createScore.score).toMatchObject({
      target: 'SESSION',
      sessionId: 'sess-1',
      value: 1,
      stringValue: 'True',
      source: 'FEEDBACK',
      userId: 'end-user-1',
      timestamp: '2026-01-02T03:04:05.000Z',
      trace: null,
    });

    const evaluation = await createEvaluation(
      app,
      [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'a' }],
      [{ input: 'q', output: 'a' }],
    );
    await waitFor(app, evaluation);
    const item = await app.server.deps.db.prisma.evaluationItem.findFirstOrThrow({
      where: { evaluationId: Buffer.from(evaluation, 'base64').toString().split(':')[1] },
    });
    const itemScore = await create({ evaluationItemId: item.id, name: 'reviewed', value: 0 });
    expect(itemScore.body.data.createScore.score).toMatchObject({
      target: 'EVALUATION_ITEM',
      evaluationItem: { position: 0 },
    });
    // As a global id too.
    const byGlobalId = await create({
      evaluationItemId: globalId('EvaluationItem', item.id),
      name: 'reviewed',
      value: 1,
    });
    expect(byGlobalId.body.data.createScore.score.target).toBe('EVALUATION_ITEM');
  });

  it('needs exactly one target, and a target of the project', async () => {
    expect(errorOf(await create({ name: 'x', value: 1 }))).toEqual({
      code: 'BAD_USER_INPUT',
      path: ['input', 'traceId'],
    });
    expect(
      errorOf(await create({ traceId: ids.t1, spanId: ids['t1/llm'], name: 'x', value: 1 })),
    ).toEqual({
      code: 'BAD_USER_INPUT',
      path: ['input', 'spanId'],
    });
    const missingTrace = globalId('Trace', '0190c7d4-0000-7000-8000-000000000000');
    expect(errorOf(await create({ traceId: missingTrace, name: 'x', value: 1 }))).toEqual({
      code: 'NOT_FOUND',
      path: ['input', 'traceId'],
    });
    expect(errorOf(await create({ evaluationItemId: 'not-an-id', name: 'x', value: 1 }))).toEqual({
      code: 'NOT_FOUND',
      path: ['input', 'evaluationItemId'],
    });
  });

  it('finds a trace and a span by the ids the application gave them (what a web app knows)', async () => {
    const onTrace = await create({ traceExternalId: 't1', name: 'by-external', value: 1 });
    expect(onTrace.body.errors).toBeUndefined();
    expect(onTrace.body.data.createScore.score).toMatchObject({
      target: 'TRACE',
      trace: { externalId: 't1' },
      span: null,
    });
    const onSpan = await create({
      traceExternalId: 't1',
      spanExternalId: 'llm',
      name: 'by-external',
      value: 2,
    });
    expect(onSpan.body.errors).toBeUndefined();
    expect(onSpan.body.data.createScore.score).toMatchObject({
      target: 'SPAN',
      trace: { externalId: 't1' },
      span: { externalId: 'llm' },
    });

    // Missing, and a span of another trace: NOT_FOUND at the field that names it.
    expect(errorOf(await create({ traceExternalId: 'nope', name: 'x', value: 1 }))).toEqual({
      code: 'NOT_FOUND',
      path: ['input', 'traceExternalId'],
    });
    expect(
      errorOf(await create({ traceExternalId: 't2', spanExternalId: 'llm', name: 'x', value: 1 })),
    ).toEqual({ code: 'NOT_FOUND', path: ['input', 'spanExternalId'] });
    // A span id alone names nothing; with another target it is one too many.
    expect(errorOf(await create({ spanExternalId: 'llm', name: 'x', value: 1 }))).toEqual({
      code: 'BAD_USER_INPUT',
      path: ['input', 'traceId'],
    });
    expect(
      errorOf(await create({ traceId: ids.t1, traceExternalId: 't1', name: 'x', value: 1 })),
    ).toEqual({ code: 'BAD_USER_INPUT', path: ['input', 'traceExternalId'] });

    // Another project's trace of the same external id is not this project's.
    const other = await app.seedProject();
    await ingest(app, other, [span({ traceId: 'only-there', spanId: 's' })]);
    expect(errorOf(await create({ traceExternalId: 'only-there', name: 'x', value: 1 }))).toEqual({
      code: 'NOT_FOUND',
      path: ['input', 'traceExternalId'],
    });

    // In a batch, each by its own ids, errors at their index.
    const batch = await createMany(
      [
        { traceExternalId: 't2', name: 'by-external-batch', value: 1 },
        { traceExternalId: 't1', spanExternalId: 'root', name: 'by-external-batch', value: 2 },
        { traceExternalId: 't1', spanExternalId: 'missing', name: 'by-external-batch', value: 3 },
      ],
      { partial: true },
    );
    expect(batch.body.data.createScores).toMatchObject({
      acceptedCount: 2,
      errors: [{ index: 2, field: 'spanExternalId', code: 'NOT_FOUND' }],
    });
  });

  it.each([
    ['an empty name', { name: '  ', value: 1 }, 'name'],
    ['a name over 200 characters', { name: 'n'.repeat(201), value: 1 }, 'name'],
    ['NUMERIC without value', { name: 'x', dataType: 'NUMERIC', stringValue: 'a' }, 'value'],
    [
      'NUMERIC with a stringValue',
      { name: 'x', dataType: 'NUMERIC', value: 1, stringValue: 'a' },
      'stringValue',
    ],
    [
      'CATEGORICAL without stringValue',
      { name: 'x', dataType: 'CATEGORICAL', value: 1 },
      'stringValue',
    ],
    ['BOOLEAN value 2', { name: 'x', dataType: 'BOOLEAN', value: 2 }, 'value'],
    ['BOOLEAN "maybe"', { name: 'x', dataType: 'BOOLEAN', stringValue: 'maybe' }, 'stringValue'],
    [
      'BOOLEAN value and stringValue apart',
      { name: 'x', dataType: 'BOOLEAN', value: 1, stringValue: 'False' },
      'stringValue',
    ],
    ['no value at all', { name: 'x' }, 'value'],
    [
      'value and stringValue without a data type',
      { name: 'x', value: 1, stringValue: 'a' },
      'dataType',
    ],
    ['a source Evalgraph keeps', { name: 'x', value: 1, source: 'EVALUATION' }, 'source'],
    [
      'a timestamp far ahead',
      { name: 'x', value: 1, timestamp: '2999-01-01T00:00:00Z' },
      'timestamp',
    ],
    [
      'a comment over 10,000 characters',
      { name: 'x', value: 1, comment: 'c'.repeat(10_001) },
      'comment',
    ],
  ])('refuses %s with the field at fault', async (_what, input, field) => {
    const res = await create({ traceId: ids.t2, ...input });
    expect(errorOf(res)).toEqual({ code: 'BAD_USER_INPUT', path: ['input', field] });
    expect(res.body.errors?.[0].message).toMatch(new RegExp(`^${field} `));
  });

  it('stores BOOLEAN scores as 1/0 and True/False whichever is sent', async () => {
    const sent = [
      { value: 1 },
      { value: 0 },
      { stringValue: 'true' },
      { stringValue: 'False' },
      { value: 1, stringValue: 'True' },
    ];
    const res = await createMany(
      sent.map((s) => ({ traceId: ids.t2, name: 'bool-forms', dataType: 'BOOLEAN', ...s })),
    );
    expect(res.body.data.createScores.scores.map((s: any) => [s.value, s.stringValue])).toEqual([
      [1, 'True'],
      [0, 'False'],
      [1, 'True'],
      [0, 'False'],
      [1, 'True'],
    ]);
  });
});

describe('score configs', () => {
  it('check configs themselves, naming the input at fault', async () => {
    const cases: [Record<string, unknown>, (string | number)[]][] = [
      [{ name: 'c1', dataType: 'CATEGORICAL' }, ['input', 'categories']],
      [{ name: 'c2', dataType: 'NUMERIC', minValue: 2, maxValue: 1 }, ['input', 'maxValue']],
      [{ name: 'c3', dataType: 'BOOLEAN', minValue: 0 }, ['input', 'minValue']],
      [{ name: 'c4', dataType: 'NUMERIC', categories: [{ label: 'a' }] }, ['input', 'categories']],
      [
        { name: 'c5', dataType: 'CATEGORICAL', categories: [{ label: 'a' }, { label: 'a' }] },
        ['input', 'categories', 1, 'label'],
      ],
      [{ name: '', dataType: 'NUMERIC' }, ['input', 'name']],
    ];
    for (const [input, path] of cases) {
      const res = await app.gql(CONFIG, { input: { projectId: p, ...input } });
      expect([input, errorOf(res)]).toEqual([input, { code: 'BAD_USER_INPUT', path }]);
    }
    const first = await app.gql(CONFIG, {
      input: { projectId: p, name: 'dup', dataType: 'NUMERIC' },
    });
    expect(first.body.errors).toBeUndefined();
    const again = await app.gql(CONFIG, {
      input: { projectId: p, name: 'dup', dataType: 'BOOLEAN' },
    });
    expect(errorOf(again)).toEqual({ code: 'BAD_USER_INPUT', path: ['input', 'name'] });
  });

  it('validate scores of their name: range, type, categories and their values', async () => {
    const numeric = await app.gql(CONFIG, {
      input: { projectId: p, name: 'accuracy', dataType: 'NUMERIC', minValue: 0, maxValue: 1 },
    });
    expect(numeric.body.data.createScoreConfig.scoreConfig).toMatchObject({
      name: 'accuracy',
      minValue: 0,
      maxValue: 1,
      categories: null,
      archived: false,
    });
    const categorical = await app.gql(CONFIG, {
      input: {
        projectId: p,
        name: 'sentiment',
        dataType: 'CATEGORICAL',
        categories: [{ label: 'good', value: 1 }, { label: 'bad', value: 0 }, { label: 'meh' }],
      },
    });
    expect(categorical.body.data.createScoreConfig.scoreConfig.categories).toEqual([
      { label: 'good', value: 1 },
      { label: 'bad', value: 0 },
      { label: 'meh', value: null },
    ]);

    const over = await create({ traceId: ids.t1, name: 'accuracy', value: 1.5 });
    expect(errorOf(over)).toEqual({ code: 'BAD_USER_INPUT', path: ['input', 'value'] });
    expect(over.body.errors?.[0].message).toBe(
      'value must be at most 1 (score config "accuracy").',
    );
    expect(errorOf(await create({ traceId: ids.t1, name: 'accuracy', value: -0.1 })).path).toEqual([
      'input',
      'value',
    ]);
    expect(
      errorOf(await create({ traceId: ids.t1, name: 'accuracy', dataType: 'BOOLEAN', value: 1 })),
    ).toEqual({ code: 'BAD_USER_INPUT', path: ['input', 'dataType'] });
    const ok = await create({ traceId: ids.t1, name: 'accuracy', value: 1 });
    expect(ok.body.data.createScore.score).toMatchObject({ dataType: 'NUMERIC', value: 1 });

    const unknown = await create({ traceId: ids.t1, name: 'sentiment', stringValue: 'great' });
    expect(errorOf(unknown)).toEqual({ code: 'BAD_USER_INPUT', path: ['input', 'stringValue'] });
    expect(unknown.body.errors?.[0].message).toContain('"good", "bad", "meh"');
    const mapped = await create({ traceId: ids.t1, name: 'sentiment', stringValue: 'good' });
    expect(mapped.body.data.createScore.score).toMatchObject({
      dataType: 'CATEGORICAL',
      stringValue: 'good',
      value: 1,
    });
    expect(
      errorOf(await create({ traceId: ids.t1, name: 'sentiment', stringValue: 'bad', value: 1 })),
    ).toEqual({ code: 'BAD_USER_INPUT', path: ['input', 'value'] });
    expect(
      errorOf(await create({ traceId: ids.t1, name: 'sentiment', stringValue: 'meh', value: 3 })),
    ).toEqual({ code: 'BAD_USER_INPUT', path: ['input', 'value'] });

    // In a batch, the path names the score's index.
    const batch = await createMany([
      { traceId: ids.t1, name: 'accuracy', value: 0.5 },
      { traceId: ids.t1, name: 'sentiment', stringValue: 'bad' },
      { traceId: ids.t1, name: 'accuracy', value: 7 },
    ]);
    expect(errorOf(batch)).toEqual({
      code: 'BAD_USER_INPUT',
      path: ['input', 'scores', 2, 'value'],
    });
  });

  it('archived, refuse new scores until restored; listed only when asked', async () => {
    const made = await app.gql(CONFIG, {
      input: { projectId: p, name: 'legacy', dataType: 'NUMERIC', maxValue: 10 },
    });
    const id = made.body.data.createScoreConfig.scoreConfig.id;
    const archived = await app.gql(UPDATE_CONFIG, { input: { id, archived: true, maxValue: 5 } });
    expect(archived.body.data.updateScoreConfig.scoreConfig).toEqual({
      archived: true,
      maxValue: 5,
    });
    const refused = await create({ traceId: ids.t2, name: 'legacy', value: 1 });
    expect(errorOf(refused)).toEqual({ code: 'BAD_USER_INPUT', path: ['input', 'name'] });
    expect(refused.body.errors?.[0].message).toContain('archived');

    const CONFIGS = `query($p: ID!, $all: Boolean) { scoreConfigs(projectId: $p, includeArchived: $all) { totalCount edges { node { name } } } }`;
    const names = async (all: boolean) =>
      (await app.gql(CONFIGS, { p, all })).body.data.scoreConfigs.edges.map(
        (e: any) => e.node.name,
      );
    expect(await names(false)).not.toContain('legacy');
    expect(await names(true)).toContain('legacy');

    await app.gql(UPDATE_CONFIG, { input: { id, archived: false } });
    expect(errorOf(await create({ traceId: ids.t2, name: 'legacy', value: 6 })).path).toEqual([
      'input',
      'value',
    ]);
    expect(
      (await create({ traceId: ids.t2, name: 'legacy', value: 5 })).body.errors,
    ).toBeUndefined();
    // The type stays what it was: a change must still make a valid config.
    const bad = await app.gql(UPDATE_CONFIG, { input: { id, minValue: 9 } });
    expect(errorOf(bad)).toEqual({ code: 'BAD_USER_INPUT', path: ['input', 'maxValue'] });
  });
});

describe('createScores', () => {
  it('refuses a whole batch for one bad score, naming its index, and stores nothing', async () => {
    const before = (await list({ name: 'batch-a' })).totalCount;
    const res = await createMany([
      { traceId: ids.t1, name: 'batch-a', value: 1 },
      { traceId: ids.t1, name: 'batch-a', dataType: 'NUMERIC' },
      { traceId: ids.t1, name: 'batch-a', value: 3 },
      { name: 'batch-a', value: 4 },
    ]);
    expect(errorOf(res)).toEqual({ code: 'BAD_USER_INPUT', path: ['input', 'scores', 1, 'value'] });
    expect(res.body.errors?.[0].message).toMatch(/^2 of 4 scores are invalid, so none were stored/);
    expect(
      res.body.errors?.[0].extensions?.invalidScores.map((e: any) => [e.index, e.field]),
    ).toEqual([
      [1, 'value'],
      [3, 'traceId'],
    ]);
    expect((await list({ name: 'batch-a' })).totalCount).toBe(before);
  });

  it('answers a target outside the project NOT_FOUND at its index', async () => {
    const other = await app.seedProject();
    await ingest(app, other, [span({ traceId: 'elsewhere', spanId: 's' })]);
    const foreign = await app.server.deps.db.prisma.trace.findFirstOrThrow({
      where: { projectId: other },
    });
    const res = await createMany([
      { traceId: ids.t1, name: 'batch-b', value: 1 },
      { traceId: globalId('Trace', foreign.id), name: 'batch-b', value: 1 },
    ]);
    expect(errorOf(res)).toEqual({ code: 'NOT_FOUND', path: ['input', 'scores', 1, 'traceId'] });
    expect((await list({ name: 'batch-b' })).totalCount).toBe(0);
  });

  it('in partial mode, stores the valid scores and reports the others', async () => {
    const res = await createMany(
      [
        { traceId: ids.t1, name: 'batch-c', value: 1 },
        { traceId: ids.t1, name: 'batch-c', dataType: 'BOOLEAN', value: 5 },
        { spanId: ids['t2/root'], name: 'batch-c', value: 2 },
        {
          traceId: globalId('Trace', '0190c7d4-0000-7000-8000-000000000000'),
          name: 'batch-c',
          value: 3,
        },
      ],
      { partial: true },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.createScores).toMatchObject({
      acceptedCount: 2,
      rejectedCount: 2,
      errors: [
        {
          index: 1,
          field: 'value',
          code: 'BAD_USER_INPUT',
          message: expect.stringContaining('1 (true) or 0'),
        },
        { index: 3, field: 'traceId', code: 'NOT_FOUND', message: 'Trace was not found.' },
      ],
    });
    expect(res.body.data.createScores.scores.map((s: any) => s.value)).toEqual([1, 2]);
    expect((await list({ name: 'batch-c' })).totalCount).toBe(2);
  });

  it('is idempotent with client ids: a batch sent again updates, and the last repeat wins', async () => {
    const batch = [
      { clientId: 'fb-1', traceId: ids.t1, name: 'batch-d', value: 1 },
      { clientId: 'fb-2', traceId: ids.t1, name: 'batch-d', value: 2 },
      { clientId: 'fb-3', traceId: ids.t2, name: 'batch-d', value: 3 },
    ];
    const first = await createMany(batch);
    expect(first.body.errors).toBeUndefined();
    const again = await createMany(
      batch.map((s) => ({ ...s, value: s.value * 10, comment: 'edited' })),
    );
    expect(again.body.data.createScores.acceptedCount).toBe(3);
    expect(again.body.data.createScores.scores.map((s: any) => s.id)).toEqual(
      first.body.data.createScores.scores.map((s: any) => s.id),
    );
    const stored = await list({ name: 'batch-d' });
    expect(stored.totalCount).toBe(3);
    expect(
      stored.edges.map((e: any) => e.node.value).sort((a: number, b: number) => a - b),
    ).toEqual([10, 20, 30]);

    const repeated = await createMany([
      { clientId: 'rep', traceId: ids.t1, name: 'batch-e', value: 1 },
      { clientId: 'rep', traceId: ids.t1, name: 'batch-e', value: 2 },
    ]);
    expect(repeated.body.data.createScores.acceptedCount).toBe(2);
    const [a, b] = repeated.body.data.createScores.scores;
    expect(a.id).toBe(b.id);
    expect((await list({ name: 'batch-e' })).edges.map((e: any) => e.node.value)).toEqual([2]);
    // createScore with the same id updates too.
    const single = await create({ clientId: 'rep', traceId: ids.t1, name: 'batch-e', value: 9 });
    expect(single.body.data.createScore.score).toMatchObject({ id: a.id, value: 9 });
  });

  it("refuses a client id of another source's score: the batch without partial, the one with it", async () => {
    const own = await create({ clientId: 'team-1', traceId: ids.t1, name: 'kept', value: 0.5 });
    expect(own.body.errors).toBeUndefined();
    const feedbackOver = (partial: boolean) =>
      createMany(
        [
          { clientId: 'fresh-1', traceId: ids.t1, name: 'kept', value: 1, source: 'FEEDBACK' },
          { clientId: 'team-1', traceId: ids.t1, name: 'kept', value: 1, source: 'FEEDBACK' },
        ],
        { partial },
      );
    const whole = await feedbackOver(false);
    expect(errorOf(whole)).toEqual({
      code: 'BAD_USER_INPUT',
      path: ['input', 'scores', 1, 'clientId'],
    });
    // Rolled back: the first score of the batch was not stored either.
    expect((await list({ name: 'kept' })).edges.map((e: any) => e.node.value)).toEqual([0.5]);

    const partial = await feedbackOver(true);
    expect(partial.body.errors).toBeUndefined();
    expect(partial.body.data.createScores).toMatchObject({
      acceptedCount: 1,
      rejectedCount: 1,
      errors: [{ index: 1, field: 'clientId', code: 'BAD_USER_INPUT' }],
    });
    const kept = await list({ name: 'kept' });
    // The team's score is untouched; the fresh feedback is stored.
    expect(kept.edges.map((e: any) => [e.node.clientId, e.node.value]).sort()).toEqual([
      ['fresh-1', 1],
      ['team-1', 0.5],
    ]);
  });

  it("keeps the client ids of Evalgraph's own scores (evalgraph:…) from clients", async () => {
    const res = await create({
      clientId: 'evalgraph:rule:x',
      traceId: ids.t1,
      name: 'own',
      value: 1,
    });
    expect(errorOf(res)).toEqual({ code: 'BAD_USER_INPUT', path: ['input', 'clientId'] });
  });

  it('keeps client ids per project: the same id elsewhere is another score', async () => {
    const other = await app.seedProject();
    await ingest(app, other, [span({ traceId: 'x', spanId: 's' })]);
    const trace = await app.server.deps.db.prisma.trace.findFirstOrThrow({
      where: { projectId: other },
    });
    const mine = await create({
      clientId: 'shared-id',
      traceId: ids.t1,
      name: 'per-project',
      value: 1,
    });
    const theirs = await app.gql(CREATE, {
      input: {
        projectId: globalId('Project', other),
        clientId: 'shared-id',
        traceId: globalId('Trace', trace.id),
        name: 'per-project',
        value: 2,
      },
    });
    expect(theirs.body.data.createScore.score.id).not.toBe(mine.body.data.createScore.score.id);
    expect((await list({ name: 'per-project' })).edges.map((e: any) => e.node.value)).toEqual([1]);
  });

  it('stores half of a character (a text cut inside an emoji) as U+FFFD, failing nothing', async () => {
    const cut = 'great 😀'.slice(0, -1); // ends with a lone high surrogate
    const res = await createMany(
      [
        { traceId: ids.t1, name: 'cut', value: 1, comment: cut },
        { traceId: ids.t1, name: 'cut', value: 2, comment: 'whole' },
      ],
      { partial: true },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.createScores).toMatchObject({ acceptedCount: 2, rejectedCount: 0 });
    const stored = await app.server.deps.db.prisma.score.findMany({
      where: { name: 'cut' },
      orderBy: { value: 'asc' },
    });
    expect(stored.map((s) => s.comment)).toEqual(['great \ufffd', 'whole']);
  });

  it('refuses a client id holding half of a character: stored as U+FFFD, it could not be matched', async () => {
    const res = await createMany(
      [
        { clientId: 'whole', traceId: ids.t1, name: 'cut-id', value: 1 },
        { clientId: 'cut 😀'.slice(0, -1), traceId: ids.t1, name: 'cut-id', value: 2 },
      ],
      { partial: true },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.createScores).toMatchObject({
      acceptedCount: 1,
      rejectedCount: 1,
      errors: [{ index: 1, field: 'clientId', code: 'BAD_USER_INPUT' }],
    });
    // What is reported refused is not stored.
    expect((await list({ name: 'cut-id' })).edges.map((e: any) => e.node.clientId)).toEqual([
      'whole',
    ]);
  });

  it('takes at most 1,000 scores', async () => {
    const res = await createMany(
      Array.from({ length: 1_001 }, () => ({ traceId: ids.t1, name: 'many', value: 1 })),
    );
    expect(errorOf(res)).toEqual({ code: 'BAD_USER_INPUT', path: ['input', 'scores'] });
    const full = await createMany(
      Array.from({ length: 1_000 }, (_, i) => ({ traceId: ids.t2, name: 'many', value: i })),
    );
    expect(full.body.data.createScores.acceptedCount).toBe(1_000);
  });
});

describe('reading scores', () => {
  beforeAll(async () => {
    const res = await createMany([
      { traceId: ids.t1, name: 'read', value: 1, timestamp: '2026-03-01T00:00:00Z' },
      { spanId: ids['t1/llm'], name: 'read', value: 2, timestamp: '2026-03-02T00:00:00Z' },
      { traceId: ids.t2, name: 'read', value: 3, timestamp: '2026-03-03T00:00:00Z' },
      {
        sessionId: 'sess-9',
        name: 'read',
        value: 4,
        userId: 'end-user-9',
        timestamp: '2026-03-04T00:00:00Z',
      },
      {
        traceId: ids.t2,
        name: 'read',
        stringValue: 'x',
        source: 'ANNOTATION',
        timestamp: '2026-03-05T00:00:00Z',
      },
    ]);
    expect(res.body.errors).toBeUndefined();
  });
  const values = async (filter: Record<string, unknown>) =>
    (await list({ name: 'read', ...filter })).edges.map(
      (e: any) => e.node.value ?? e.node.stringValue,
    );

  it('filters by every field of ScoreFilter, newest first', async () => {
    expect(await values({})).toEqual(['x', 4, 3, 2, 1]);
    expect(await values({ traceId: ids.t1 })).toEqual([2, 1]);
    expect(await values({ spanId: ids['t1/llm'] })).toEqual([2]);
    expect(await values({ sessionId: 'sess-9' })).toEqual([4]);
    expect(await values({ userId: 'end-user-1' })).toEqual([2, 1]);
    expect(await values({ userId: 'end-user-9' })).toEqual([4]);
    expect(await values({ source: 'ANNOTATION' })).toEqual(['x']);
    expect(await values({ dataType: 'CATEGORICAL' })).toEqual(['x']);
    expect(await values({ from: '2026-03-02T00:00:00Z', to: '2026-03-04T00:00:00Z' })).toEqual([
      3, 2,
    ]);
    expect(await values({ minValue: 2, maxValue: 3 })).toEqual([3, 2]);
  });

  it('pages forward with cursors and counts every page', async () => {
    const first = await app.gql(LIST, { p, filter: { name: 'read' }, first: 2 });
    const page1 = first.body.data.scores;
    expect(page1.totalCount).toBe(5);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const next = await app.gql(LIST, {
      p,
      filter: { name: 'read' },
      first: 2,
      after: page1.pageInfo.endCursor,
    });
    expect(next.body.data.scores.edges.map((e: any) => e.node.value)).toEqual([3, 2]);
    const bad = await app.gql(LIST, { p, filter: { name: 'read' }, after: 'nope' });
    expect(errorOf(bad)).toEqual({ code: 'BAD_USER_INPUT', path: ['after'] });
  });

  it('shows Trace.scores (its spans’ included) and Span.scores on a page of traces', async () => {
    const res = await app.gql(
      `query($p: ID!) { traces(projectId: $p, first: 10) { edges { node { externalId
        scores(first: 50) { totalCount edges { node { name value target } } }
        rootSpans { externalId scores { totalCount } children { externalId scores { edges { node { name value } } } } } } } } }`,
      { p },
    );
    expect(res.body.errors).toBeUndefined();
    const traces = Object.fromEntries(
      res.body.data.traces.edges.map((e: any) => [e.node.externalId, e.node]),
    );
    const read = (t: any) =>
      t.scores.edges
        .filter((e: any) => e.node.name === 'read')
        .map((e: any) => [e.node.value, e.node.target]);
    expect(read(traces.t1)).toEqual([
      [2, 'SPAN'],
      [1, 'TRACE'],
    ]);
    const llm = traces.t1.rootSpans[0].children[0];
    expect(llm.externalId).toBe('llm');
    expect(
      llm.scores.edges.filter((e: any) => e.node.name === 'read').map((e: any) => e.node.value),
    ).toEqual([2]);
    const counted = await app.server.deps.db.prisma.score.count({
      where: { trace: { externalId: 't1' } },
    });
    expect(traces.t1.scores.totalCount).toBe(counted);
  });

  it('reads a score by node id and deletes it', async () => {
    const made = await create({ traceId: ids.t1, name: 'to-delete', value: 1 });
    const id = made.body.data.createScore.score.id;
    const NODE = `query($id: ID!) { node(id: $id) { ... on Score { name value trace { externalId } } } }`;
    expect((await app.gql(NODE, { id })).body.data.node).toEqual({
      name: 'to-delete',
      value: 1,
      trace: { externalId: 't1' },
    });
    const DELETE = `mutation($id: ID!) { deleteScore(input: { id: $id }) { deletedScoreId } }`;
    expect((await app.gql(DELETE, { id })).body.data.deleteScore.deletedScoreId).toBe(id);
    expect(errorOf(await app.gql(NODE, { id })).code).toBe('NOT_FOUND');
    expect(errorOf(await app.gql(DELETE, { id }))).toEqual({
      code: 'NOT_FOUND',
      path: ['input', 'id'],
    });
  });
});

describe('roles', () => {
  it('VIEWER reads but cannot write; DEVELOPER writes; BILLING sees no scores', async () => {
    const viewer = await app.seedUser({ role: 'VIEWER' });
    const developer = await app.seedUser({ role: 'DEVELOPER' });
    const billing = await app.seedUser({ role: 'BILLING' });
    const made = await create({ traceId: ids.t1, name: 'roles', value: 1 }, developer.key);
    expect(made.body.errors).toBeUndefined();
    const id = made.body.data.createScore.score.id;

    const reads = [
      [LIST, { p, filter: { name: 'roles' } }],
      [
        `query($p: ID!) { scoreSummary(projectId: $p, from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z") { count } }`,
        { p },
      ],
      [`query($p: ID!) { scoreConfigs(projectId: $p) { totalCount } }`, { p }],
      [`query($id: ID!) { node(id: $id) { id } }`, { id }],
    ] as const;
    for (const [query, variables] of reads) {
      const seen = await app.gql(query, variables, { key: viewer.key });
      expect([query, seen.body.errors]).toEqual([query, undefined]);
      const refused = await app.gql(query, variables, { key: billing.key });
      expect([
        query,
        errorOf(refused).code,
        Object.values(refused.body.data ?? {}).filter(Boolean),
      ]).toEqual([query, 'FORBIDDEN', []]);
    }

    const writes = [
      [CREATE, { input: { projectId: p, traceId: ids.t1, name: 'roles', value: 2 } }],
      [
        CREATE_MANY,
        { input: { projectId: p, scores: [{ traceId: ids.t1, name: 'roles', value: 2 }] } },
      ],
      [`mutation($id: ID!) { deleteScore(input: { id: $id }) { deletedScoreId } }`, { id }],
      [CONFIG, { input: { projectId: p, name: 'roles', dataType: 'NUMERIC' } }],
    ] as const;
    for (const [query, variables] of writes) {
      for (const key of [viewer.key, billing.key]) {
        const res = await app.gql(query, variables, { key });
        expect([query, errorOf(res).code]).toEqual([query, 'FORBIDDEN']);
      }
    }
    expect((await list({ name: 'roles' })).totalCount).toBe(1);
    const deleted = await app.gql(
      `mutation($id: ID!) { deleteScore(input: { id: $id }) { deletedScoreId } }`,
      { id },
      { key: developer.key },
    );
    expect(deleted.body.errors).toBeUndefined();
  });
});

describe('cached answers', () => {
  it('Trace.scores, scores and scoreSummary show every score write at once', async () => {
    const queries = {
      trace: [
        `query($id: ID!) { trace(id: $id) { scores(first: 100) { edges { node { name value } } } } }`,
        { id: ids.t2 },
      ],
      scores: [LIST, { p, filter: { name: 'cached' } }],
      summary: [
        `query($p: ID!) { scoreSummary(projectId: $p, from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z", filter: { name: "cached" }) { count mean } }`,
        { p },
      ],
    } as const;
    /**
     * Each answer, once it is served from the cache with no write between: the cache stores an
     * answer after sending it (with Redis, a round trip later), so the next ask may still miss.
     */
    const read = async () => {
      const out: Record<string, unknown> = {};
      for (const [name, [query, variables]] of Object.entries(queries)) {
        const first = await app.gql(query, variables);
        expect(first.body.errors).toBeUndefined();
        let again = await app.gql(query, variables);
        for (let i = 0; i < 20 && again.headers.get('x-cache') !== 'HIT'; i++) {
          await new Promise((r) => setTimeout(r, 50));
          again = await app.gql(query, variables);
        }
        expect([name, again.headers.get('x-cache')]).toEqual([name, 'HIT']);
        expect(again.body.data).toEqual(first.body.data);
        out[name] = again.body.data;
      }
      return out;
    };
    const seen = (out: Record<string, any>) => ({
      trace: out.trace.trace.scores.edges
        .filter((e: any) => e.node.name === 'cached')
        .map((e: any) => e.node.value),
      scores: out.scores.scores.edges.map((e: any) => e.node.value),
      summary: out.summary.scoreSummary.map((r: any) => [r.count, r.mean]),
    });
    expect(seen(await read())).toEqual({ trace: [], scores: [], summary: [] });

    const made = await create({ traceId: ids.t2, name: 'cached', value: 2 });
    expect(seen(await read())).toEqual({ trace: [2], scores: [2], summary: [[1, 2]] });

    const more = await createMany([{ traceId: ids.t2, name: 'cached', value: 4 }]);
    expect(more.body.errors).toBeUndefined();
    expect(seen(await read())).toEqual({ trace: [4, 2], scores: [4, 2], summary: [[2, 3]] });

    const deleted = await app.gql(
      `mutation($id: ID!) { deleteScore(input: { id: $id }) { deletedScoreId } }`,
      { id: made.body.data.createScore.score.id },
    );
    expect(deleted.body.errors).toBeUndefined();
    expect(seen(await read())).toEqual({ trace: [4], scores: [4], summary: [[1, 4]] });
  });
});
