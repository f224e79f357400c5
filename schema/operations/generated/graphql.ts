/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** DAY and HOUR are UTC. */
export type CostGroupBy =
  | 'DAY'
  | 'HOUR'
  | 'MODEL'
  | 'PROJECT'
  | 'SPAN_KIND'
  | 'USER';

export type CreateEvaluationInput = {
  batchId?: string | number | null | undefined;
  dataSource: EvaluationDataSourceInput;
  name: string;
  projectId: string | number;
  /** Graders (see EvaluationSpecInput.testingCriteria). */
  testingCriteria: Array<unknown>;
};

/** Exactly one of: a dataset, items given inline, or spans selected from traces; and, for a dataset or items, where the outputs to grade come from. */
export type EvaluationDataSourceInput = {
  datasetId?: string | number | null | undefined;
  items?: Array<EvaluationItemInput> | null | undefined;
  /** STORED (default): the items' own outputs. SUPPLIED: the items wait for outputs sent with submitEvaluationOutputs (their own are not used). */
  outputs?: EvaluationOutputs | null | undefined;
  traces?: EvaluationTracesSource | null | undefined;
};

/** One item: the input, what was expected, and the output of the application under test. */
export type EvaluationItemInput = {
  /** Retrieved contexts in rank order, for RAG graders. */
  contexts?: Array<string> | null | undefined;
  expectedOutput?: unknown;
  input: unknown;
  metadata?: unknown;
  /** The output to grade ({{sample.output_text}}). */
  output?: unknown;
};

/** Where the outputs it grades ({{sample.output_text}}) come from. */
export type EvaluationOutputs =
  | 'STORED'
  | 'SUPPLIED';

/** Where an evaluation is. */
export type EvaluationStatus =
  | 'CANCELED'
  | 'COMPLETED'
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING';

/** Production traffic: the spans (with an output) of a project's traces matching the filter, newest traces first. */
export type EvaluationTracesSource = {
  filter?: TraceFilter | null | undefined;
  /** Items taken, at most 10,000. */
  limit?: number | null | undefined;
  spanKind?: SpanKind | null | undefined;
  spanName?: string | null | undefined;
};

export type RegisterPersistedOperationsInput = {
  /** Which client ships them (e.g. "dashboard@2.3.0"). */
  clientName?: string | null | undefined;
  /** Up to 100 documents (operations with their fragments), each hashed as sent. */
  operations: Array<string>;
  /** Keys of this project may run them. Omitted: every project (instance admins only). */
  projectId?: string | number | null | undefined;
};

/** What a span did. */
export type SpanKind =
  | 'AGENT'
  | 'CHAIN'
  | 'EMBEDDING'
  | 'EVALUATOR'
  | 'GENERIC'
  | 'GUARDRAIL'
  | 'LLM'
  | 'RERANKER'
  | 'RETRIEVER'
  | 'TOOL';

/** Outcome of a span (OpenTelemetry status). */
export type SpanStatus =
  | 'ERROR'
  | 'OK'
  | 'UNSET';

/** All given conditions must hold. */
export type TraceFilter = {
  /** Traces that started at or after this time. */
  from?: string | null | undefined;
  /** Traces that cost at least this much (USD). Needs the costs right. */
  minCost?: string | null | undefined;
  minLatencyMs?: number | null | undefined;
  /** Traces with at least one span of this model, compared normalised (Span.normalizedModel): gpt-4o finds gpt-4o-2024-08-06 and azure/gpt-4o, not gpt-4o-mini. */
  model?: string | null | undefined;
  /** Traces with at least one span whose model is exactly this name, as sent (Span.model). */
  modelExact?: string | null | undefined;
  /** Traces whose name contains this text (case-insensitive). */
  name?: string | null | undefined;
  sessionId?: string | null | undefined;
  status?: SpanStatus | null | undefined;
  /** Traces carrying every one of these tags. */
  tags?: Array<string> | null | undefined;
  /** Traces that started before this time. */
  to?: string | null | undefined;
  /** End user id. */
  userId?: string | null | undefined;
};

export type CostSummaryQueryVariables = Exact<{
  projectId?: string | number | null | undefined;
  from: string;
  to: string;
  groupBy?: Array<CostGroupBy> | CostGroupBy | null | undefined;
}>;


export type CostSummaryQuery = { costSummary: Array<{ calls: number, inputTokens: number, outputTokens: number, cost: string | null, unpricedCalls: number, keys: { model: string | null, day: string | null, userId: string | null } }> };

export type RateLimitQueryVariables = Exact<{ [key: string]: never; }>;


export type RateLimitQuery = { rateLimit: { limit: number, remaining: number, used: number, resetAt: string, restoreRate: number } };

export type CreateEvaluationMutationVariables = Exact<{
  input: CreateEvaluationInput;
}>;


export type CreateEvaluationMutation = { createEvaluation: { evaluation: { id: string, name: string, status: EvaluationStatus } } };

export type EvaluationProgressSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type EvaluationProgressSubscription = { evaluationProgress: { evaluationId: string, status: EvaluationStatus, percentDone: number, etaSeconds: number | null, error: string | null, resultCounts: { total: number, completed: number, passed: number, failed: number, errored: number }, perTestingCriteriaResults: Array<{ name: string, meanScore: number | null, passRate: number | null }> } };

export type EvaluationQueryVariables = Exact<{
  id: string | number;
}>;


export type EvaluationQuery = { evaluation: { id: string, name: string, status: EvaluationStatus, createdAt: string, finishedAt: string | null } | null };

export type RegisterPersistedOperationsMutationVariables = Exact<{
  input: RegisterPersistedOperationsInput;
}>;


export type RegisterPersistedOperationsMutation = { registerPersistedOperations: { operations: Array<{ hash: string, operationNames: Array<string>, created: boolean }> } };

export type TracesQueryVariables = Exact<{
  projectId: string | number;
  first?: number | null | undefined;
  after?: string | null | undefined;
  filter?: TraceFilter | null | undefined;
}>;


export type TracesQuery = { traces: { edges: Array<{ node: { id: string, externalId: string, name: string | null, userId: string | null, startTime: string, latencyMs: number | null, status: SpanStatus, totalTokens: number, totalCost: string | null, unpricedSpanCount: number } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type TraceQueryVariables = Exact<{
  id: string | number;
}>;


export type TraceQuery = { trace: { id: string, name: string | null, startTime: string, endTime: string | null, totalTokens: number, totalCost: string | null, unpricedSpanCount: number, rootSpans: Array<{ id: string, name: string, kind: SpanKind, model: string | null, latencyMs: number | null, status: SpanStatus, inputTokens: number, outputTokens: number, totalCost: string | null, children: Array<{ id: string, name: string, kind: SpanKind, model: string | null, latencyMs: number | null, status: SpanStatus, inputTokens: number, outputTokens: number, totalCost: string | null }> }> } | null };

export type SpanFieldsFragment = { id: string, name: string, kind: SpanKind, model: string | null, latencyMs: number | null, status: SpanStatus, inputTokens: number, outputTokens: number, totalCost: string | null };

export const SpanFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"SpanFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Span"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"model"}},{"kind":"Field","name":{"kind":"Name","value":"latencyMs"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"inputTokens"}},{"kind":"Field","name":{"kind":"Name","value":"outputTokens"}},{"kind":"Field","name":{"kind":"Name","value":"totalCost"}}]}}]} as unknown as DocumentNode<SpanFieldsFragment, unknown>;
export const CostSummaryDocument = {"__meta__":{"hash":"sha256:06acaf3ffb863190c7b8b5d88bac1dcb4c97c9a198fc7847698dd1f3f2e72cfa"}} as unknown as DocumentNode<CostSummaryQuery, CostSummaryQueryVariables>;
export const RateLimitDocument = {"__meta__":{"hash":"sha256:aefd0359ed136b2543421b08776e6fd245d225cd7166af88a50003308ae1a506"}} as unknown as DocumentNode<RateLimitQuery, RateLimitQueryVariables>;
export const CreateEvaluationDocument = {"__meta__":{"hash":"sha256:1b0e921eac3440c1b431274788b45c2013921f254b5eb68da5e6af4840c6d048"}} as unknown as DocumentNode<CreateEvaluationMutation, CreateEvaluationMutationVariables>;
export const EvaluationProgressDocument = {"__meta__":{"hash":"sha256:c68d39f8e050c41cd582513c87e56aac0346d48f693014b6464b2584a231b530"}} as unknown as DocumentNode<EvaluationProgressSubscription, EvaluationProgressSubscriptionVariables>;
export const EvaluationDocument = {"__meta__":{"hash":"sha256:55ece956b08e28244b82d71acb6011988d4bc4f7fec60c0a7af829133a47e766"}} as unknown as DocumentNode<EvaluationQuery, EvaluationQueryVariables>;
export const RegisterPersistedOperationsDocument = {"__meta__":{"hash":"sha256:2be298cfbc178cf5c4138026a5bfde452b6e2fb062bd3d10c1c4928c02e1bb8f"}} as unknown as DocumentNode<RegisterPersistedOperationsMutation, RegisterPersistedOperationsMutationVariables>;
export const TracesDocument = {"__meta__":{"hash":"sha256:7f17835d6d3bc875d08cde5adc8825e9f3ef1433a72f2455ba2765af396b9ac2"}} as unknown as DocumentNode<TracesQuery, TracesQueryVariables>;
export const TraceDocument = {"__meta__":{"hash":"sha256:325464f5965d22042acb810386969e2db5084458328f39a47f69e4243b76bf5d"}} as unknown as DocumentNode<TraceQuery, TraceQueryVariables>;