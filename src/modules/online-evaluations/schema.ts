// Online evaluation rules: the EvaluationRule type with its stats, `evaluationRules` and
// `evaluationRule`. Reading needs the `read` action on the project (VIEWER and up; BILLING sees
// none); judge spending needs `costs` besides. Inputs are in input.ts, mutations in mutations.ts.
import { EvaluationRuleTarget } from '../../generated/prisma/enums';
import { found } from '../../errors';
import { builder } from '../../schema/builder';
import { projectScope } from '../auth/permissions';
import { knownCost } from '../costs/unpriced';
import { JUDGE_COST, JUDGE_TOKENS, JUDGE_UNPRICED_CALLS } from '../evaluations/spend-descriptions';
import { ProjectRef } from '../projects/schema';
import { SpanKindEnum, SpanStatusEnum } from '../traces/schema';
import type { RuleFilter } from './filter';
import { ruleStats, type RuleStatsRow } from './task-sql';
import { DEFAULT_VARIABLES, type Variables, variablesSchema } from './variables';

export const EvaluationRuleTargetEnum = builder.enumType(EvaluationRuleTarget, {
  name: 'EvaluationRuleTarget',
  description:
    'What a rule judges: TRACE, each trace once (its root span is the item graded); SPAN, each matching span once.',
});

export const EvaluationRuleContextsEnum = builder.enumType('EvaluationRuleContexts', {
  values: ['RETRIEVER_OUTPUTS', 'NONE'] as const,
  description:
    "Where {{item.contexts}} (the RAG graders' contexts) comes from: the outputs of the trace's RETRIEVER spans (a JSON list is one context per element), or nowhere.",
});

const EvaluationRuleStatusEnum = builder.enumType('EvaluationRuleStatus', {
  values: ['ACTIVE', 'PAUSED', 'DISABLED'] as const,
  description:
    'ACTIVE: judging what it samples. PAUSED: its judges may not spend (a quota or budget; see pausedReason), so tasks coming due are skipped until they may. DISABLED: by its users.',
});

const MetadataMatchRef = builder
  .objectRef<{ key: string; value: string }>('EvaluationRuleMetadataMatch')
  .implement({
    fields: (t) => ({ key: t.exposeString('key'), value: t.exposeString('value') }),
  });

const FilterRef = builder.objectRef<RuleFilter>('EvaluationRuleFilter').implement({
  description:
    "Trace conditions (userId, sessionId, tags: all of them) hold for the trace's spans together; span conditions (spanKind, model, name, status, metadata) for one span. A TRACE rule judges a trace one of whose spans meets the span conditions, a SPAN rule each such span.",
  fields: (t) => ({
    spanKind: t.field({
      type: SpanKindEnum,
      nullable: true,
      resolve: (f) => f.spanKind ?? null,
    }),
    model: t.string({
      nullable: true,
      description: 'Compared normalised: gpt-4o matches gpt-4o-2024-08-06.',
      resolve: (f) => f.model ?? null,
    }),
    name: t.string({ nullable: true, resolve: (f) => f.name ?? null }),
    tags: t.stringList({ nullable: true, resolve: (f) => f.tags ?? null }),
    userId: t.string({ nullable: true, resolve: (f) => f.userId ?? null }),
    sessionId: t.string({ nullable: true, resolve: (f) => f.sessionId ?? null }),
    metadata: t.field({
      type: [MetadataMatchRef],
      nullable: true,
      description: 'Metadata values (compared as text; a dotted key reads nested objects).',
      resolve: (f) => f.metadata ?? null,
    }),
    status: t.field({
      type: SpanStatusEnum,
      nullable: true,
      resolve: (f) => f.status ?? null,
    }),
  }),
});

const VariablesRef = builder.objectRef<Variables>('EvaluationRuleVariables').implement({
  description:
    'Where grader variables come from: span fields (input, output, name, metadata or metadata.<key>) of the judged span (a TRACE rule: its root span).',
  fields: (t) => ({
    input: t.exposeString('input', { description: '{{item.input}}' }),
    output: t.exposeString('output', { description: '{{sample.output_text}}, {{item.output}}' }),
    expectedOutput: t.exposeString('expectedOutput', {
      nullable: true,
      description: '{{item.expected_output}}; none when null.',
    }),
    contexts: t.field({
      type: EvaluationRuleContextsEnum,
      description: '{{item.contexts}}',
      resolve: (v) => v.contexts,
    }),
  }),
});

const LagRef = builder
  .objectRef<{ p50: number; p95: number; p99: number; max: number }>('EvaluationRuleLag')
  .implement({
    description:
      'Seconds from the last ingested batch of a trace to its scores (the delay included), over traces judged in the last 24 hours (backfills not counted).',
    fields: (t) => ({
      p50: t.exposeFloat('p50'),
      p95: t.exposeFloat('p95'),
      p99: t.exposeFloat('p99'),
      max: t.exposeFloat('max'),
    }),
  });

type Stats = RuleStatsRow & { projectId: string; matched: number };
const costScope = projectScope('costs');

const StatsRef = builder.objectRef<Stats>('EvaluationRuleStats').implement({
  // Live counts: served from the response cache for a second at most.
  extensions: { cacheTtlMs: 1_000 },
  fields: (t) => ({
    matched: t.field({
      type: 'SafeInt',
      description:
        'Targets that matched the filter at ingest, counted in each batch that carried them (added every few seconds).',
      resolve: (s) => s.matched,
    }),
    sampled: t.exposeInt('sampled', {
      description: 'Targets sampled and queued, by ingest or backfill; each is judged once.',
    }),
    pending: t.exposeInt('pending', { description: 'Waiting for their delay, or being judged.' }),
    evaluated: t.exposeInt('evaluated', { description: 'Judged: their scores are written.' }),
    errored: t.exposeInt('errored', {
      description:
        'A grader could not judge (the others wrote their scores), or every attempt failed.',
    }),
    skippedByBudget: t.exposeInt('skipped', {
      description: 'Came due while a quota or budget was spent (backfill can queue them again).',
    }),
    canceled: t.exposeInt('canceled', {
      description: 'Still waiting when the rule was disabled (backfill can queue them again).',
    }),
    judgeInputTokens: t.field({
      type: 'SafeInt',
      nullable: true,
      authScopes: costScope,
      description: JUDGE_TOKENS,
      resolve: (s) => Number(s.input_tokens),
    }),
    judgeOutputTokens: t.field({
      type: 'SafeInt',
      nullable: true,
      authScopes: costScope,
      description: JUDGE_TOKENS,
      resolve: (s) => Number(s.output_tokens),
    }),
    judgeCost: t.field({
      type: 'Decimal',
      nullable: true,
      authScopes: costScope,
      description: JUDGE_COST,
      resolve: (s) => knownCost(s.cost, s.calls, s.unpriced_calls),
    }),
    judgeUnpricedCalls: t.int({
      nullable: true,
      authScopes: costScope,
      description: JUDGE_UNPRICED_CALLS,
      resolve: (s) => s.unpriced_calls,
    }),
    lag: t.field({
      type: LagRef,
      nullable: true,
      description: 'null until a trace queued by ingest is judged.',
      resolve: (s) =>
        s.lag_max === null
          ? null
          : { p50: s.lag_p50!, p95: s.lag_p95!, p99: s.lag_p99!, max: s.lag_max },
    }),
  }),
});

export const EvaluationRuleRef = builder.prismaNode('EvaluationRule', {
  extensions: { cacheTtlMs: 5_000 },
  // Loaded with findUnique: a missing node is null (then NOT_FOUND), not a thrown Prisma error.
  nullable: true,
  id: { field: 'id' },
  description:
    'Graders run on live traffic: each trace (or span) matching the filter is sampled at samplingRate (the same ones whoever looks) and judged once, delaySeconds after its last batch; the results are ONLINE_EVALUATION scores on it. Judge cost fields need the BILLING or ADMIN role.',
  authScopes: projectScope('read'),
  fields: (t) => ({
    project: t.relation('project'),
    name: t.exposeString('name'),
    target: t.expose('target', { type: EvaluationRuleTargetEnum }),
    filter: t.field({ type: FilterRef, resolve: (r) => (r.filter ?? {}) as RuleFilter }),
    samplingRate: t.exposeFloat('samplingRate', {
      description: 'Share of the matching targets judged, from 0 to 1.',
    }),
    delaySeconds: t.exposeInt('delaySeconds', {
      description: "Seconds after a trace's last batch before it is judged (later spans push it).",
    }),
    testingCriteria: t.field({
      type: 'JSON',
      description: 'The graders, as evaluations take them (G-Eval steps filled in once generated).',
      resolve: (r) => r.testingCriteria,
    }),
    variables: t.field({
      type: VariablesRef,
      resolve: (r) => {
        const parsed = variablesSchema.safeParse(r.variables ?? {});
        return parsed.success ? parsed.data : DEFAULT_VARIABLES;
      },
    }),
    enabled: t.exposeBoolean('enabled'),
    status: t.field({
      type: EvaluationRuleStatusEnum,
      resolve: (r) => (!r.enabled ? 'DISABLED' : r.pausedReason !== null ? 'PAUSED' : 'ACTIVE'),
    }),
    pausedReason: t.exposeString('pausedReason', {
      nullable: true,
      description: 'Why its judges may not spend now (it resumes by itself when they may).',
    }),
    pausedAt: t.expose('pausedAt', { type: 'DateTime', nullable: true }),
    creator: t.relation('creator', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    stats: t.field({
      type: StatsRef,
      select: { matchedCount: true, projectId: true },
      resolve: async (r, _a, ctx) => ({
        ...(await ruleStats(ctx.deps.db.query, r.id)),
        projectId: r.projectId,
        matched: Number(r.matchedCount),
      }),
    }),
  }),
});

builder.queryFields((t) => ({
  evaluationRules: t.prismaConnection(
    {
      type: 'EvaluationRule',
      cursor: 'id',
      description: "A project's online evaluation rules, oldest first.",
      args: { projectId: t.arg.globalID({ required: true, for: ProjectRef }) },
      authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
      resolve: (query, _root, args, ctx) =>
        ctx.deps.db.prisma.evaluationRule.findMany({
          ...query,
          where: { projectId: args.projectId.id },
          orderBy: { id: 'asc' },
        }),
    },
    { name: 'EvaluationRuleConnection' },
    { name: 'EvaluationRuleEdge' },
  ),
  evaluationRule: t.prismaField({
    type: 'EvaluationRule',
    nullable: true,
    args: { id: t.arg.globalID({ required: true, for: EvaluationRuleRef }) },
    resolve: (query, _root, args, ctx) =>
      ctx.deps.db.prisma.evaluationRule
        .findUnique({ ...query, where: { id: args.id.id } })
        .then(found('EvaluationRule')),
  }),
}));
