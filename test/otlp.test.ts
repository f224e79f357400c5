// OTLP/HTTP ingest at /v1/traces, driven by the real OpenTelemetry JS exporter.
import { ROOT_CONTEXT, SpanStatusCode, trace as otelTrace } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { createTestApp, globalId, type TestApp } from './support/app';

let app: TestApp;

beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

type Build = (tracer: ReturnType<BasicTracerProvider['getTracer']>) => void;

/** Spans made by `build` with the SDK. */
async function recordSpans(
  build: Build,
  resource: Record<string, string> = {},
): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'otlp-test', ...resource }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  build(provider.getTracer('evalgraph-test'));
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

/** Records spans made by `build` with the SDK, then sends them with the OTLP exporter (JSON unless told). */
async function exportSpans(
  headers: Record<string, string>,
  build: Build,
  resource: Record<string, string> = {},
  encoding: 'json' | 'protobuf' = 'json',
) {
  const spans = await recordSpans(build, resource);
  const Exporter = encoding === 'json' ? OTLPTraceExporter : OTLPTraceProtoExporter;
  const exporter = new Exporter({ url: `${app.url}/v1/traces`, headers });
  const result = await new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
  await exporter.shutdown();
  return { result, traceId: spans[0]?.spanContext().traceId };
}

describe('OTLP /v1/traces', () => {
  it.each(['json', 'protobuf'] as const)(
    'round-trips GenAI and OpenInference spans from the OpenTelemetry exporter (%s)',
    async (encoding) => {
      const { result, traceId } = await exportSpans(
        {
          Authorization: `Bearer ${app.adminKey}`,
          'x-evalgraph-project': globalId('Project', app.projectId),
        },
        (tracer) => {
          const root = tracer.startSpan('support agent', {
            attributes: {
              'openinference.span.kind': 'AGENT',
              'user.id': 'end-user-7',
              'session.id': 'chat-1',
              'tag.tags': ['otel'],
            },
          });
          const ctx = otelTrace.setSpan(ROOT_CONTEXT, root);
          const chat = tracer.startSpan(
            'chat gpt-4o-mini',
            {
              attributes: {
                'gen_ai.operation.name': 'chat',
                'gen_ai.system': 'openai',
                'gen_ai.request.model': 'gpt-4o-mini-2024-07-18',
                'gen_ai.usage.input_tokens': 1000,
                'gen_ai.usage.output_tokens': 200,
              },
            },
            ctx,
          );
          chat.end();
          const retrieve = tracer.startSpan(
            'search',
            {
              attributes: {
                'openinference.span.kind': 'RETRIEVER',
                'input.value': 'refund policy',
              },
            },
            ctx,
          );
          retrieve.setStatus({ code: SpanStatusCode.ERROR, message: 'index offline' });
          retrieve.end();
          root.end();
        },
        {},
        encoding,
      );
      expect([result.code, result.error?.message]).toEqual([ExportResultCode.SUCCESS, undefined]);

      const row = await app.server.deps.db.prisma.trace.findUniqueOrThrow({
        where: { projectId_externalId: { projectId: app.projectId, externalId: traceId! } },
      });
      const res = await app.gql(
        `query($id: ID!) { trace(id: $id) { name userId sessionId tags status spanCount totalCost
      rootSpans { name kind children { name kind model provider inputTokens outputTokens totalCost status error input } } } }`,
        { id: globalId('Trace', row.id) },
      );
      expect(res.body.errors).toBeUndefined();
      const t = res.body.data.trace;
      expect(t).toMatchObject({
        name: 'support agent',
        userId: 'end-user-7',
        sessionId: 'chat-1',
        tags: ['otel'],
        status: 'ERROR',
        spanCount: 3,
      });
      // gpt-4o-mini: 1000 × $0.15 + 200 × $0.60 per 1M = 0.00027
      expect(t.totalCost).toBe('0.00027');
      expect(t.rootSpans).toHaveLength(1);
      expect(t.rootSpans[0].kind).toBe('AGENT');
      const children = Object.fromEntries(t.rootSpans[0].children.map((c: any) => [c.name, c]));
      expect(children['chat gpt-4o-mini']).toMatchObject({
        kind: 'LLM',
        model: 'gpt-4o-mini-2024-07-18',
        provider: 'openai',
        inputTokens: 1000,
        outputTokens: 200,
        totalCost: '0.00027',
      });
      expect(children.search).toMatchObject({
        kind: 'RETRIEVER',
        status: 'ERROR',
        error: 'index offline',
        input: 'refund policy',
        totalCost: null,
      });
    },
  );

  it('takes the project from the resource attribute, and refuses a bad key without storing anything', async () => {
    const other = await app.seedProject('otel project');
    const ok = await exportSpans(
      { Authorization: `Bearer ${app.adminKey}` },
      (tracer) => tracer.startSpan('via resource').end(),
      { 'evalgraph.project.id': other },
    );
    expect(ok.result.code).toBe(ExportResultCode.SUCCESS);
    expect(
      await app.server.deps.db.prisma.trace.count({
        where: { projectId: other, externalId: ok.traceId },
      }),
    ).toBe(1);

    const bad = await exportSpans(
      { Authorization: 'Bearer evg_not-a-real-key-000000000000000000000' },
      (tracer) => tracer.startSpan('intruder').end(),
      { 'evalgraph.project.id': other },
    );
    expect(bad.result.code).toBe(ExportResultCode.FAILED);
    expect(
      await app.server.deps.db.prisma.trace.count({ where: { externalId: bad.traceId } }),
    ).toBe(0);
  });

  describe('raw requests', () => {
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${app.url}/v1/traces`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${app.adminKey}`,
          'x-evalgraph-project': app.projectId,
          ...headers,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const otlpSpan = (spanId: string, attributes: unknown[] = []) => ({
      traceId: '5b8efff798038103d269b633813fc60c',
      spanId,
      name: `raw ${spanId}`,
      startTimeUnixNano: '1740830400000000000',
      endTimeUnixNano: '1740830401000000000',
      attributes,
    });

    /** A DEVELOPER of the project whose bucket is set to `limits` (setUserLimits). */
    async function limitedUser(limits: { capacity: number; restoreRate?: number }) {
      const user = await app.seedUser({ role: 'DEVELOPER' });
      const set = await app.gql(
        'mutation($input: SetUserLimitsInput!) { setUserLimits(input: $input) { user { id } } }',
        { input: { userId: globalId('User', user.userId), ...limits } },
      );
      expect(set.body.errors).toBeUndefined();
      return user;
    }

    it("spends the key's rate-limit points as ingestSpans does: refused with 429 and Retry-After once they run out", async () => {
      // A bucket of 25 points that barely refills: an ingest costs 10 (a mutation's floor).
      const user = await limitedUser({ capacity: 25, restoreRate: 0.001 });
      const send = (spanId: string) =>
        post(
          { resourceSpans: [{ scopeSpans: [{ spans: [otlpSpan(spanId)] }] }] },
          { authorization: `Bearer ${user.key}` },
        );
      const first = await send('aaa19b7ec3c1b101');
      expect(first.status).toBe(200);
      // The bucket as GraphQL answers tell it: 25 points, 10 spent.
      expect(first.headers.get('x-ratelimit-limit')).toBe('25');
      expect(first.headers.get('x-ratelimit-remaining')).toBe('15');
      expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
      expect((await send('aaa19b7ec3c1b102')).status).toBe(200);
      const refused = await send('aaa19b7ec3c1b103');
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      const status = await refused.json();
      expect(status).toMatchObject({ code: 8 }); // RESOURCE_EXHAUSTED
      expect(status.message).toMatch(/this request costs 10 points and 5 are available/);
      // Nothing of the refused request is stored; GraphQL sees the same bucket.
      expect(
        await app.server.deps.db.prisma.span.count({
          where: {
            externalId: { in: ['aaa19b7ec3c1b101', 'aaa19b7ec3c1b102', 'aaa19b7ec3c1b103'] },
          },
        }),
      ).toBe(2);
      const seen = await app.gql('{ rateLimit { remaining } }', {}, { key: user.key });
      expect(seen.body.data.rateLimit.remaining).toBe(5);
    });

    it('charges a request for a project the key cannot see, as ingestSpans is charged', async () => {
      const user = await limitedUser({ capacity: 15, restoreRate: 0.001 });
      const send = (project: string, spanId: string) =>
        post(
          { resourceSpans: [{ scopeSpans: [{ spans: [otlpSpan(spanId)] }] }] },
          { authorization: `Bearer ${user.key}`, 'x-evalgraph-project': project },
        );
      const unseen = globalId('Project', '00000000-0000-4000-8000-00000000f00d');
      expect((await send(unseen, 'aaa19b7ec3c1b1e1')).status).toBe(404);
      // 10 of its 15 points are spent: an ingest into its own project no longer fits.
      expect((await send(globalId('Project', app.projectId), 'aaa19b7ec3c1b1e2')).status).toBe(429);
    });

    it("answers a project that exists but is another's as one that does not exist", async () => {
      const user = await app.seedUser({ role: 'DEVELOPER' });
      const foreign = await app.seedProject('not theirs');
      const send = (project: string) =>
        post(
          { resourceSpans: [{ scopeSpans: [{ spans: [otlpSpan('aaa19b7ec3c1b1d1')] }] }] },
          { authorization: `Bearer ${user.key}`, 'x-evalgraph-project': project },
        );
      const answer = async (res: Response) => ({
        status: res.status,
        body: await res.json(),
        headers: [...res.headers.keys()].filter((h) => !['date', 'x-request-id'].includes(h)),
      });
      const theirs = await answer(await send(globalId('Project', foreign)));
      const none = await answer(
        await send(globalId('Project', '00000000-0000-4000-8000-00000000f00e')),
      );
      expect(theirs.status).toBe(404);
      expect(theirs).toEqual(none);
    });

    it('a key whose bucket holds less than a mutation costs is told an admin must raise it, over OTLP and GraphQL', async () => {
      const user = await limitedUser({ capacity: 5 });
      const refused = await post(
        { resourceSpans: [{ scopeSpans: [{ spans: [otlpSpan('aaa19b7ec3c1b1f1')] }] }] },
        { authorization: `Bearer ${user.key}` },
      );
      expect(refused.status).toBe(400);
      const status = await refused.json();
      expect(status.message).toMatch(/costs 10 points; at most 5 are allowed/);
      expect(status.message).toMatch(/an admin must raise its capacity/);
      expect(status.message).not.toMatch(/fewer at a time/);
      const mutation = await app.gql(
        `mutation($input: IngestSpansInput!) { ingestSpans(input: $input) { acceptedCount } }`,
        { input: { projectId: globalId('Project', app.projectId), spans: [] } },
        { key: user.key },
      );
      expect(mutation.body.errors![0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
      expect(mutation.body.errors![0].message).toMatch(/an admin must raise its capacity/);
      // More spans than the floor pays for: fewer would still cost 10, so the same advice.
      const many = await post(
        {
          resourceSpans: [
            {
              scopeSpans: [
                {
                  spans: Array.from({ length: 150 }, (_, i) =>
                    otlpSpan(`bbb19b7ec3c1b${String(i).padStart(3, '0')}`),
                  ),
                },
              ],
            },
          ],
        },
        { authorization: `Bearer ${user.key}` },
      );
      expect(many.status).toBe(400);
      expect((await many.json()).message).toMatch(/costs 15 points.*an admin must raise/);
      // A query has no floor: one asking for less would fit, and the message says so.
      const query = await app.gql(
        '{ projects(first: 6) { edges { node { id } } } }',
        {},
        { key: user.key },
      );
      expect(query.body.errors![0].extensions).toMatchObject({
        code: 'QUERY_TOO_COMPLEX',
        cost: 7,
      });
      expect(query.body.errors![0].message).toMatch(/Ask for fewer items/);
    });

    it('reports spans it could not map as a partial success and stores the rest', async () => {
      const res = await post({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  otlpSpan('eee19b7ec3c1b174'),
                  otlpSpan('eee19b7ec3c1b175', [
                    { key: 'gen_ai.usage.input_tokens', value: { stringValue: 'many' } },
                  ]),
                ],
              },
            ],
          },
        ],
      });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.partialSuccess.rejectedSpans).toBe(1);
      expect(body.partialSuccess.errorMessage).toMatch(/gen_ai\.usage\.input_tokens/);
      expect(
        await app.server.deps.db.prisma.span.count({
          where: { externalId: { in: ['eee19b7ec3c1b174', 'eee19b7ec3c1b175'] } },
        }),
      ).toBe(1);
    });

    it('makes a span with a model and tokens but no operation name an LLM span, as ingestSpans does', async () => {
      const res = await post({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: '6c8efff798038103d269b633813fc60c',
                    spanId: 'fff19b7ec3c1b101',
                    name: 'bare model call',
                    startTimeUnixNano: '1740830400000000000',
                    endTimeUnixNano: '1740830401000000000',
                    attributes: [
                      { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
                      { key: 'gen_ai.usage.input_tokens', value: { intValue: 5 } },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      });
      expect(res.status).toBe(200);
      const stored = await app.server.deps.db.prisma.span.findFirstOrThrow({
        where: { externalId: 'fff19b7ec3c1b101' },
      });
      expect([stored.kind, stored.model]).toEqual(['LLM', 'gpt-4o-mini']);
    });

    it('refuses values the database cannot store with 400 or a rejected span, never a 500 with a stack', async () => {
      const otlpSpan = (i: number, over: Record<string, unknown> = {}) => ({
        traceId: '5b8efff798038103d269b633813fc60c',
        spanId: `eee19b7ec3c1b1${String(i).padStart(2, '0')}`,
        name: 'costly',
        startTimeUnixNano: '1740830400000000000',
        endTimeUnixNano: '1740830401000000000',
        attributes: [{ key: 'llm.cost.total', value: { doubleValue: 999999999 } }],
        ...over,
      });
      // Each span's cost is allowed; their trace's total is beyond what a cost column holds.
      const overflow = await post({
        resourceSpans: [
          { scopeSpans: [{ spans: Array.from({ length: 12 }, (_, i) => otlpSpan(i)) }] },
        ],
      });
      const overflowText = await overflow.text();
      expect(overflow.status).toBe(400);
      expect(overflowText).not.toMatch(/node_modules|at \w+ \(/);
      const nul = await post({
        resourceSpans: [
          { scopeSpans: [{ spans: [otlpSpan(50, { name: 'a\u0000b', attributes: [] })] }] },
        ],
      });
      expect(nul.status).toBe(200);
      expect((await nul.json()).partialSuccess).toMatchObject({
        rejectedSpans: 1,
        errorMessage: expect.stringContaining('U+0000'),
      });
    });

    it('answers malformed requests with OTLP status errors', async () => {
      const notJson = await post('{nope');
      expect([notJson.status, (await notJson.json()).message]).toEqual([
        400,
        'The body is not valid JSON.',
      ]);
      const noSpans = await post({ hello: 'world' });
      expect(noSpans.status).toBe(400);
      const xml = await post('<spans/>', { 'content-type': 'application/xml' });
      expect(xml.status).toBe(415);
      const get = await fetch(`${app.url}/v1/traces`);
      expect(get.status).toBe(405);
      const unauthenticated = await post({ resourceSpans: [] }, { authorization: '' });
      expect(unauthenticated.status).toBe(401);
      const viewer = await app.seedUser({ role: 'VIEWER' });
      const forbidden = await post(
        { resourceSpans: [] },
        { authorization: `Bearer ${viewer.key}` },
      );
      expect(forbidden.status).toBe(403);
      // The instance admin sees every project: it must say which.
      const ambiguous = await post({ resourceSpans: [] }, { 'x-evalgraph-project': '' });
      expect(ambiguous.status).toBe(400);
      // So must a key that is not bound, even when its user has one project today: another
      // project's admin adding them must not change where their spans go.
      const member = await app.seedUser({ role: 'DEVELOPER' });
      const unnamed = await post(
        { resourceSpans: [] },
        { authorization: `Bearer ${member.key}`, 'x-evalgraph-project': '' },
      );
      expect([unnamed.status, (await unnamed.json()).message]).toEqual([
        400,
        expect.stringContaining('x-evalgraph-project'),
      ]);
    });

    it('answers protobuf in protobuf: partial success, and a google.rpc.Status for bad bytes', async () => {
      const spans = await recordSpans((tracer) => {
        tracer
          .startSpan('proto good', { attributes: { 'gen_ai.request.model': 'gpt-4o-mini' } })
          .end();
        tracer
          .startSpan('proto bad', { attributes: { 'gen_ai.usage.input_tokens': 'many' } })
          .end();
      });
      const headers = {
        'content-type': 'application/x-protobuf',
        authorization: `Bearer ${app.adminKey}`,
        'x-evalgraph-project': app.projectId,
      };
      const res = await fetch(`${app.url}/v1/traces`, {
        method: 'POST',
        headers,
        body: Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!),
      });
      expect([res.status, res.headers.get('content-type')]).toEqual([
        200,
        'application/x-protobuf',
      ]);
      const answer = ProtobufTraceSerializer.deserializeResponse(
        new Uint8Array(await res.arrayBuffer()),
      );
      expect(Number(answer.partialSuccess?.rejectedSpans)).toBe(1);
      expect(answer.partialSuccess?.errorMessage).toMatch(/gen_ai\.usage\.input_tokens/);
      const stored = await app.server.deps.db.prisma.span.findMany({
        where: { externalId: { in: spans.map((s) => s.spanContext().spanId) } },
      });
      expect(stored.map((s) => s.name)).toEqual(['proto good']);

      const garbage = await fetch(`${app.url}/v1/traces`, {
        method: 'POST',
        headers,
        body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]),
      });
      expect([garbage.status, garbage.headers.get('content-type')]).toEqual([
        400,
        'application/x-protobuf',
      ]);
      // google.rpc.Status { code = 1: 3 (INVALID_ARGUMENT), message = 2 }
      const status = Buffer.from(await garbage.arrayBuffer());
      expect([status[0], status[1]]).toEqual([0x08, 3]);
      expect(status.toString('utf8')).toContain('not an OTLP ExportTraceServiceRequest');
    });

    it('accepts gzip bodies and bounds what they inflate to', async () => {
      const { gzipSync } = await import('node:zlib');
      const body = gzipSync(
        JSON.stringify({
          resourceSpans: [{ scopeSpans: [{ spans: [otlpSpan('aaa19b7ec3c1b176')] }] }],
        }),
      );
      const res = await fetch(`${app.url}/v1/traces`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          authorization: `Bearer ${app.adminKey}`,
          'x-evalgraph-project': app.projectId,
        },
        body,
      });
      expect(res.status).toBe(200);
      expect(
        await app.server.deps.db.prisma.span.count({ where: { externalId: 'aaa19b7ec3c1b176' } }),
      ).toBe(1);
      const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024, 32));
      const refused = await fetch(`${app.url}/v1/traces`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          authorization: `Bearer ${app.adminKey}`,
          'x-evalgraph-project': app.projectId,
        },
        body: bomb,
      });
      expect(refused.status).toBe(400);
    });

    it('bounds a chunked body (no Content-Length) while reading it', async () => {
      const { request } = await import('node:http');
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${app.url}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${app.adminKey}` },
        });
        req.on('response', (res) => resolve(res.statusCode!));
        // The server may close the connection once it has answered; that is the point.
        req.on('error', (error) => (req.writableEnded ? undefined : reject(error)));
        const chunk = Buffer.alloc(1024 * 1024, 32);
        let sent = 0;
        const pump = () => {
          while (sent < 11) {
            sent += 1;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
      expect(status).toBe(413);
    });
  });
});
