// Data export (GET /v1/export/…) through the real server: formats, rights, resuming with the
// cursor, evaluation results, pacing by bytes, and memory that stays flat over 200,000 spans.
import v8 from 'node:v8';
import vm from 'node:vm';
import { createTestApp, globalId, type TestApp } from './support/app';

let app: TestApp;
let sql: TestApp['server']['deps']['db']['query'];
const T0 = Date.parse('2026-03-01T00:00:00.000Z');

beforeAll(async () => {
  app = await createTestApp({ EVALGRAPH_EXPORT_BYTES_PER_SECOND: '0' });
  sql = app.server.deps.db.query;
}, 60_000);
afterAll(() => app?.close());

const get = (path: string, key: string | null = app.adminKey) =>
  fetch(`${app.url}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });

/** JSON Lines as objects: the rows, and the cursor line that ends them. */
async function jsonl(path: string, key?: string | null) {
  const res = await get(path, key);
  expect(res.status).toBe(200);
  const lines = (await res.text())
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  const trailer = lines.pop() as { cursor: string | null; hasMore: boolean };
  return { res, rows: lines as Record<string, any>[], trailer };
}

/** A small RFC 4180 parser: quoted fields with "" and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field), rows.push(row), (row = []), (field = ''), i++;
    } else field += c;
  }
  return rows;
}

async function seedTraces(projectId: string, count: number, prefix = 't') {
  const [trace] = await sql<{ id: string }>(
    `INSERT INTO traces (id, project_id, external_id, start_time, updated_at, total_cost, metadata, tags)
     VALUES (gen_random_uuid(), $1::uuid, $2, $3, now(), 0.5, '{"a":{"b":[1,2]}}', '{x,y}') RETURNING id::text`,
    [projectId, `${prefix}-trace`, new Date(T0)],
  );
  // Several spans share each start time: the cursor must break ties by id.
  await sql(
    `INSERT INTO spans (id, project_id, trace_id, external_id, name, start_time, input, output, metadata, total_cost, updated_at)
     SELECT gen_random_uuid(), $1::uuid, $2::uuid, $3 || g, 'step, "quoted"', $4::timestamptz + (g / 3) * interval '1 second',
            'line one' || chr(10) || 'line two ' || g, 'out', jsonb_build_object('n', g), 0.0001 * g, now()
     FROM generate_series(1, $5::int) g`,
    [projectId, trace.id, prefix, new Date(T0), count],
  );
  return trace.id;
}

describe('export of spans', () => {
  let projectId: string;
  beforeAll(async () => {
    projectId = await app.seedProject('export spans');
    await seedTraces(projectId, 2500);
  });

  it('streams every span as JSON Lines, in (start time, id) order, ending with a cursor', async () => {
    const { res, rows, trailer } = await jsonl(`/v1/export/spans?projectId=${projectId}`);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(rows).toHaveLength(2500);
    expect(trailer).toEqual({ cursor: expect.any(String), hasMore: false });
    const stored = await sql<{ id: string; input: string; total: string }>(
      `SELECT id::text, input, trim_scale(total_cost)::text AS total FROM spans WHERE project_id = $1::uuid
       ORDER BY start_time, id`,
      [projectId],
    );
    expect(rows.map((r) => r.id)).toEqual(stored.map((s) => s.id));
    expect(rows[7]).toMatchObject({
      input: stored[7].input,
      totalCost: stored[7].total,
      metadata: { n: expect.any(Number) },
      name: 'step, "quoted"',
    });
  });

  it('as CSV with a header, quoting per RFC 4180, nested values as JSON', async () => {
    const res = await get(
      `/v1/export/spans?projectId=${globalId('Project', projectId)}&format=csv`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await res.text();
    expect(text).toMatch(/# cursor=\S+ hasMore=false\r\n$/);
    const [header, ...rows] = parseCsv(text.slice(0, text.lastIndexOf('# cursor=')));
    expect(rows).toHaveLength(2500);
    const json = (await jsonl(`/v1/export/spans?projectId=${projectId}`)).rows;
    const at = (r: string[], c: string) => r[header.indexOf(c)];
    rows.forEach((r, i) => {
      expect(at(r, 'id')).toBe(json[i].id);
      expect(at(r, 'input')).toBe(json[i].input);
      expect(JSON.parse(at(r, 'metadata'))).toEqual(json[i].metadata);
      expect(at(r, 'name')).toBe('step, "quoted"');
      expect(at(r, 'startTime')).toBe(json[i].startTime);
    });
  });

  it('resumes after the cursor: the parts together are every row, once', async () => {
    const first = await jsonl(`/v1/export/spans?projectId=${projectId}&limit=1000`);
    expect(first.rows).toHaveLength(1000);
    expect(first.trailer.hasMore).toBe(true);
    const rest = await jsonl(
      `/v1/export/spans?projectId=${projectId}&cursor=${first.trailer.cursor}`,
    );
    expect(rest.trailer.hasMore).toBe(false);
    const ids = [...first.rows, ...rest.rows].map((r) => r.id);
    expect(ids).toHaveLength(2500);
    expect(new Set(ids).size).toBe(2500);
    // The end's cursor resumes to nothing new.
    const after = await jsonl(
      `/v1/export/spans?projectId=${projectId}&cursor=${rest.trailer.cursor}`,
    );
    expect(after.rows).toEqual([]);
    expect(after.trailer).toEqual({ cursor: rest.trailer.cursor, hasMore: false });
  });

  it('keeps to from/to (from inclusive, to exclusive)', async () => {
    const from = new Date(T0 + 10_000).toISOString();
    const to = new Date(T0 + 20_000).toISOString();
    const { rows } = await jsonl(`/v1/export/spans?projectId=${projectId}&from=${from}&to=${to}`);
    expect(rows).toHaveLength(30);
    expect(rows.every((r) => r.startTime >= from && r.startTime < to)).toBe(true);
  });

  it('refuses bad parameters as BAD_USER_INPUT (400)', async () => {
    for (const query of [
      `projectId=${projectId}&format=xml`,
      `projectId=${projectId}&from=yesterday`,
      `projectId=${projectId}&from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z`,
      `projectId=${projectId}&cursor=abc`,
      `projectId=${projectId}&cursor=${Buffer.from('["1", "x"]').toString('base64url')}`,
      `projectId=${projectId}&limit=0`,
      `projectId=${projectId}&limit=1.5`,
      `projectId=${projectId}&what=1`,
      `projectId=${projectId}&format=csv&format=jsonl`,
      'projectId=nope',
      '',
    ]) {
      const res = await get(`/v1/export/spans?${query}`);
      expect([query, res.status]).toEqual([query, 400]);
      expect((await res.json()).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    }
  });
});

describe('rights', () => {
  let projectId: string;
  beforeAll(async () => {
    projectId = await app.seedProject('export rights');
    await seedTraces(projectId, 10);
  });

  it('needs a key: 401 UNAUTHENTICATED', async () => {
    const res = await get(`/v1/export/traces?projectId=${projectId}`, null);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      errors: [{ message: expect.any(String), extensions: { code: 'UNAUTHENTICATED' } }],
    });
  });

  it('another project, and one that does not exist, are the same 404 NOT_FOUND', async () => {
    const other = await app.seedProject('export other');
    const { key } = await app.seedUser({ role: 'ADMIN', projectId: other });
    const foreign = await get(`/v1/export/spans?projectId=${projectId}`, key);
    const missing = await get(`/v1/export/spans?projectId=${crypto.randomUUID()}`, key);
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(await foreign.json()).toEqual(await missing.json());
  });

  it('a BILLING member cannot read spans: 403 FORBIDDEN', async () => {
    const { key } = await app.seedUser({ role: 'BILLING', projectId });
    const res = await get(`/v1/export/spans?projectId=${projectId}`, key);
    expect(res.status).toBe(403);
    expect((await res.json()).errors[0].extensions.code).toBe('FORBIDDEN');
  });

  it('a VIEWER gets no cost columns (and is told which were left out); an ADMIN gets them', async () => {
    const { key } = await app.seedUser({ role: 'VIEWER', projectId });
    const viewer = await jsonl(`/v1/export/traces?projectId=${projectId}`, key);
    expect(viewer.res.headers.get('x-evalgraph-omitted-columns')).toBe(
      'inputCost,outputCost,totalCost',
    );
    expect(viewer.rows[0]).not.toHaveProperty('totalCost');
    expect(viewer.rows[0]).toMatchObject({ tags: ['x', 'y'], metadata: { a: { b: [1, 2] } } });
    const csv = await (await get(`/v1/export/spans?projectId=${projectId}&format=csv`, key)).text();
    expect(csv.split('\r\n')[0]).not.toMatch(/Cost|priceSource|costProvided/);
    const admin = await jsonl(`/v1/export/traces?projectId=${projectId}`);
    expect(admin.rows[0].totalCost).toBe('0.5');
    expect(admin.res.headers.get('x-evalgraph-omitted-columns')).toBeNull();
  });
});

describe('scores and evaluation results', () => {
  let projectId: string;
  let evaluationId: string;
  beforeAll(async () => {
    projectId = await app.seedProject('export evals');
    await sql(
      `INSERT INTO scores (id, project_id, name, data_type, value, source, scored_at, comment)
       SELECT gen_random_uuid(), $1::uuid, 'quality', 'NUMERIC', g / 10.0, 'API', $2::timestamptz + g * interval '1 minute', 'c' || g
       FROM generate_series(1, 25) g`,
      [projectId, new Date(T0)],
    );
    [{ id: evaluationId }] = await sql<{ id: string }>(
      `INSERT INTO evaluations (id, project_id, name, testing_criteria, data_source, updated_at)
       VALUES (gen_random_uuid(), $1::uuid, 'e', '[]', '{}', now()) RETURNING id::text`,
      [projectId],
    );
    await sql(
      `WITH items AS (
         INSERT INTO evaluation_items (id, evaluation_id, position, input)
         SELECT gen_random_uuid(), $1::uuid, g, jsonb_build_object('q', g) FROM generate_series(0, 11) g
         RETURNING id, position)
       INSERT INTO evaluation_results (id, evaluation_id, evaluation_item_id, grader_name, grader_type, score, passed, cost, created_at)
       SELECT gen_random_uuid(), $1::uuid, id, 'exact', 'string_check', position % 2, position % 2 = 1, 0.25,
              $2::timestamptz + position * interval '1 second'
       FROM items`,
      [evaluationId, new Date(T0)],
    );
  });

  it('exports scores in time order', async () => {
    const { rows, trailer } = await jsonl(`/v1/export/scores?projectId=${projectId}`);
    expect(rows.map((r) => r.comment)).toEqual(Array.from({ length: 25 }, (_, i) => `c${i + 1}`));
    expect(rows[0]).toMatchObject({
      name: 'quality',
      dataType: 'NUMERIC',
      value: 0.1,
      source: 'API',
    });
    expect(trailer.hasMore).toBe(false);
  });

  it('exports an evaluation’s results, by raw or global id; a foreign evaluation is 404', async () => {
    const { rows } = await jsonl(`/v1/export/evaluations/${evaluationId}/results`);
    expect(rows.map((r) => r.itemPosition)).toEqual([...Array(12).keys()]);
    expect(rows[1]).toMatchObject({ graderName: 'exact', score: 1, passed: true, cost: '0.25' });
    const csv = await get(
      `/v1/export/evaluations/${globalId('Evaluation', evaluationId)}/results?format=csv&limit=5`,
    );
    const text = await csv.text();
    expect(parseCsv(text.slice(0, text.lastIndexOf('#')))).toHaveLength(6);
    expect(text).toMatch(/hasMore=true\r\n$/);

    const viewer = await app.seedUser({ role: 'VIEWER', projectId });
    const seen = await jsonl(`/v1/export/evaluations/${evaluationId}/results`, viewer.key);
    expect(seen.rows).toHaveLength(12);
    expect(seen.rows[0]).not.toHaveProperty('cost');

    const { key } = await app.seedUser({ role: 'ADMIN', projectId: await app.seedProject() });
    for (const path of [
      `/v1/export/evaluations/${evaluationId}/results`,
      `/v1/export/evaluations/${crypto.randomUUID()}/results`,
      '/v1/export/evaluations/nope/results',
    ]) {
      const res = await get(path, key);
      expect(res.status).toBe(404);
      expect((await res.json()).errors[0].extensions.code).toBe('NOT_FOUND');
    }
    // Named with another project than its own: not there either.
    const res = await get(
      `/v1/export/evaluations/${evaluationId}/results?projectId=${app.projectId}`,
    );
    expect(res.status).toBe(404);
  });
});

describe('pacing by bytes', () => {
  let paced: TestApp;
  afterAll(() => paced?.close());

  it('pauses the stream to the user’s bytes a second, and sends it all', async () => {
    paced = await createTestApp({ EVALGRAPH_EXPORT_BYTES_PER_SECOND: '100000' });
    const projectId = await paced.seedProject('paced');
    const traceSql = paced.server.deps.db.query;
    await traceSql(
      `INSERT INTO traces (id, project_id, external_id, start_time, updated_at)
       VALUES (gen_random_uuid(), $1::uuid, 'p', now(), now())`,
      [projectId],
    );
    await traceSql(
      `INSERT INTO spans (id, project_id, trace_id, external_id, name, start_time, input, updated_at)
       SELECT gen_random_uuid(), $1::uuid, (SELECT id FROM traces WHERE project_id = $1::uuid), 'p' || g, 's',
              now() + g * interval '1 ms', repeat('x', 1000), now()
       FROM generate_series(1, 300) g`,
      [projectId],
    );
    const started = Date.now();
    const res = await fetch(`${paced.url}/v1/export/spans?projectId=${projectId}`, {
      headers: { authorization: `Bearer ${paced.adminKey}` },
    });
    const text = await res.text();
    const seconds = (Date.now() - started) / 1000;
    // ~400 kB at 100 kB/s with a second's burst: about 3 s.
    expect(text.length).toBeGreaterThan(300_000);
    expect(text.trimEnd().split('\n')).toHaveLength(301);
    expect(seconds).toBeGreaterThan(text.length / 100_000 - 1.5);
  }, 60_000);
});

describe('memory', () => {
  const COUNT = Number(process.env.EXPORT_TEST_SPANS ?? 200_000);
  let projectId: string;
  beforeAll(async () => {
    projectId = await app.seedProject('export memory');
    const started = Date.now();
    await seedTraces(projectId, COUNT, 'm');
    // As autovacuum would: planned on the stats of a near-empty table, each page sorts every span.
    await sql('ANALYZE spans');
    console.log(
      `inserted ${COUNT} spans in ${Date.now() - started} ms (${app.server.deps.db.kind})`,
    );
  }, 600_000);

  it(`streams ${COUNT} spans with the server's heap flat`, async () => {
    // Live memory, not garbage: each sample follows a full collection (V8 lets garbage pile up
    // as it sees fit, so a peak of uncollected heap said more about the collector than the export).
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const start = process.memoryUsage().heapUsed;
    let peak = start;
    // A full collection of a big heap (a jest worker's, after other files) can take longer than
    // any fixed interval: each sample is scheduled a second after the previous one ends, so the
    // export always gets the time between them, and the sampling stops whatever the test's end.
    let sample: NodeJS.Timeout | undefined;
    const next = () => {
      sample = setTimeout(() => {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed);
        next();
      }, 1000);
    };
    next();
    const started = Date.now();
    let count = 0;
    let last = '';
    let bytes = 0;
    try {
      const res = await get(`/v1/export/spans?projectId=${projectId}`);
      // Read as it comes, keeping nothing but the last line's key: rows must rise strictly.
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let rest = '';
      let previous = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.length;
        const lines = (rest + value).split('\n');
        rest = lines.pop()!;
        for (const line of lines) {
          last = line;
          if (line.startsWith('{"cursor"')) continue;
          const row = JSON.parse(line) as { id: string; startTime: string };
          const key = `${row.startTime} ${row.id}`;
          if (key <= previous) throw new Error(`out of order: ${key} after ${previous}`);
          previous = key;
          count++;
        }
      }
    } finally {
      clearTimeout(sample);
    }
    const ms = Date.now() - started;
    console.log(
      `exported ${count} spans (${Math.round(bytes / 1e6)} MB) in ${ms} ms; heap ${Math.round(start / 1e6)} MB -> peak ${Math.round(peak / 1e6)} MB (after a collection each second)`,
    );
    expect(count).toBe(COUNT);
    expect(JSON.parse(last)).toMatchObject({ hasMore: false });
    // The whole export is far larger than this; one page at a time stays well under it.
    expect(bytes).toBeGreaterThan(COUNT * 300);
    expect(peak - start).toBeLessThan(64 * 1024 * 1024);
  }, 600_000);
});
