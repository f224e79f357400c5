/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query CostSummary($projectId: ID, $from: DateTime!, $to: DateTime!, $groupBy: [CostGroupBy!]) {\n  costSummary(projectId: $projectId, from: $from, to: $to, groupBy: $groupBy) {\n    keys {\n      model\n      day\n      userId\n    }\n    calls\n    inputTokens\n    outputTokens\n    cost\n    unpricedCalls\n  }\n}\n\nquery RateLimit {\n  rateLimit {\n    limit\n    remaining\n    used\n    resetAt\n    restoreRate\n  }\n}": typeof types.CostSummaryDocument,
    "mutation CreateEvaluation($input: CreateEvaluationInput!) {\n  createEvaluation(input: $input) {\n    evaluation {\n      id\n      name\n      status\n    }\n  }\n}\n\nsubscription EvaluationProgress($id: ID!) {\n  evaluationProgress(id: $id) {\n    evaluationId\n    status\n    percentDone\n    etaSeconds\n    error\n    resultCounts {\n      total\n      completed\n      passed\n      failed\n      errored\n    }\n    perTestingCriteriaResults {\n      name\n      meanScore\n      passRate\n    }\n  }\n}\n\nquery Evaluation($id: ID!) {\n  evaluation(id: $id) {\n    id\n    name\n    status\n    createdAt\n    finishedAt\n  }\n}": typeof types.CreateEvaluationDocument,
    "mutation RegisterPersistedOperations($input: RegisterPersistedOperationsInput!) {\n  registerPersistedOperations(input: $input) {\n    operations {\n      hash\n      operationNames\n      created\n    }\n  }\n}": typeof types.RegisterPersistedOperationsDocument,
    "query Traces($projectId: ID!, $first: Int = 20, $after: String, $filter: TraceFilter) {\n  traces(projectId: $projectId, first: $first, after: $after, filter: $filter) {\n    edges {\n      node {\n        id\n        externalId\n        name\n        userId\n        startTime\n        latencyMs\n        status\n        totalTokens\n        totalCost\n        unpricedSpanCount\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery Trace($id: ID!) {\n  trace(id: $id) {\n    id\n    name\n    startTime\n    endTime\n    totalTokens\n    totalCost\n    unpricedSpanCount\n    rootSpans {\n      ...SpanFields\n      children {\n        ...SpanFields\n      }\n    }\n  }\n}\n\nfragment SpanFields on Span {\n  id\n  name\n  kind\n  model\n  latencyMs\n  status\n  inputTokens\n  outputTokens\n  totalCost\n}": typeof types.TracesDocument,
};
const documents: Documents = {
    "query CostSummary($projectId: ID, $from: DateTime!, $to: DateTime!, $groupBy: [CostGroupBy!]) {\n  costSummary(projectId: $projectId, from: $from, to: $to, groupBy: $groupBy) {\n    keys {\n      model\n      day\n      userId\n    }\n    calls\n    inputTokens\n    outputTokens\n    cost\n    unpricedCalls\n  }\n}\n\nquery RateLimit {\n  rateLimit {\n    limit\n    remaining\n    used\n    resetAt\n    restoreRate\n  }\n}": types.CostSummaryDocument,
    "mutation CreateEvaluation($input: CreateEvaluationInput!) {\n  createEvaluation(input: $input) {\n    evaluation {\n      id\n      name\n      status\n    }\n  }\n}\n\nsubscription EvaluationProgress($id: ID!) {\n  evaluationProgress(id: $id) {\n    evaluationId\n    status\n    percentDone\n    etaSeconds\n    error\n    resultCounts {\n      total\n      completed\n      passed\n      failed\n      errored\n    }\n    perTestingCriteriaResults {\n      name\n      meanScore\n      passRate\n    }\n  }\n}\n\nquery Evaluation($id: ID!) {\n  evaluation(id: $id) {\n    id\n    name\n    status\n    createdAt\n    finishedAt\n  }\n}": types.CreateEvaluationDocument,
    "mutation RegisterPersistedOperations($input: RegisterPersistedOperationsInput!) {\n  registerPersistedOperations(input: $input) {\n    operations {\n      hash\n      operationNames\n      created\n    }\n  }\n}": types.RegisterPersistedOperationsDocument,
    "query Traces($projectId: ID!, $first: Int = 20, $after: String, $filter: TraceFilter) {\n  traces(projectId: $projectId, first: $first, after: $after, filter: $filter) {\n    edges {\n      node {\n        id\n        externalId\n        name\n        userId\n        startTime\n        latencyMs\n        status\n        totalTokens\n        totalCost\n        unpricedSpanCount\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery Trace($id: ID!) {\n  trace(id: $id) {\n    id\n    name\n    startTime\n    endTime\n    totalTokens\n    totalCost\n    unpricedSpanCount\n    rootSpans {\n      ...SpanFields\n      children {\n        ...SpanFields\n      }\n    }\n  }\n}\n\nfragment SpanFields on Span {\n  id\n  name\n  kind\n  model\n  latencyMs\n  status\n  inputTokens\n  outputTokens\n  totalCost\n}": types.TracesDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query CostSummary($projectId: ID, $from: DateTime!, $to: DateTime!, $groupBy: [CostGroupBy!]) {\n  costSummary(projectId: $projectId, from: $from, to: $to, groupBy: $groupBy) {\n    keys {\n      model\n      day\n      userId\n    }\n    calls\n    inputTokens\n    outputTokens\n    cost\n    unpricedCalls\n  }\n}\n\nquery RateLimit {\n  rateLimit {\n    limit\n    remaining\n    used\n    resetAt\n    restoreRate\n  }\n}"): (typeof documents)["query CostSummary($projectId: ID, $from: DateTime!, $to: DateTime!, $groupBy: [CostGroupBy!]) {\n  costSummary(projectId: $projectId, from: $from, to: $to, groupBy: $groupBy) {\n    keys {\n      model\n      day\n      userId\n    }\n    calls\n    inputTokens\n    outputTokens\n    cost\n    unpricedCalls\n  }\n}\n\nquery RateLimit {\n  rateLimit {\n    limit\n    remaining\n    used\n    resetAt\n    restoreRate\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CreateEvaluation($input: CreateEvaluationInput!) {\n  createEvaluation(input: $input) {\n    evaluation {\n      id\n      name\n      status\n    }\n  }\n}\n\nsubscription EvaluationProgress($id: ID!) {\n  evaluationProgress(id: $id) {\n    evaluationId\n    status\n    percentDone\n    etaSeconds\n    error\n    resultCounts {\n      total\n      completed\n      passed\n      failed\n      errored\n    }\n    perTestingCriteriaResults {\n      name\n      meanScore\n      passRate\n    }\n  }\n}\n\nquery Evaluation($id: ID!) {\n  evaluation(id: $id) {\n    id\n    name\n    status\n    createdAt\n    finishedAt\n  }\n}"): (typeof documents)["mutation CreateEvaluation($input: CreateEvaluationInput!) {\n  createEvaluation(input: $input) {\n    evaluation {\n      id\n      name\n      status\n    }\n  }\n}\n\nsubscription EvaluationProgress($id: ID!) {\n  evaluationProgress(id: $id) {\n    evaluationId\n    status\n    percentDone\n    etaSeconds\n    error\n    resultCounts {\n      total\n      completed\n      passed\n      failed\n      errored\n    }\n    perTestingCriteriaResults {\n      name\n      meanScore\n      passRate\n    }\n  }\n}\n\nquery Evaluation($id: ID!) {\n  evaluation(id: $id) {\n    id\n    name\n    status\n    createdAt\n    finishedAt\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation RegisterPersistedOperations($input: RegisterPersistedOperationsInput!) {\n  registerPersistedOperations(input: $input) {\n    operations {\n      hash\n      operationNames\n      created\n    }\n  }\n}"): (typeof documents)["mutation RegisterPersistedOperations($input: RegisterPersistedOperationsInput!) {\n  registerPersistedOperations(input: $input) {\n    operations {\n      hash\n      operationNames\n      created\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Traces($projectId: ID!, $first: Int = 20, $after: String, $filter: TraceFilter) {\n  traces(projectId: $projectId, first: $first, after: $after, filter: $filter) {\n    edges {\n      node {\n        id\n        externalId\n        name\n        userId\n        startTime\n        latencyMs\n        status\n        totalTokens\n        totalCost\n        unpricedSpanCount\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery Trace($id: ID!) {\n  trace(id: $id) {\n    id\n    name\n    startTime\n    endTime\n    totalTokens\n    totalCost\n    unpricedSpanCount\n    rootSpans {\n      ...SpanFields\n      children {\n        ...SpanFields\n      }\n    }\n  }\n}\n\nfragment SpanFields on Span {\n  id\n  name\n  kind\n  model\n  latencyMs\n  status\n  inputTokens\n  outputTokens\n  totalCost\n}"): (typeof documents)["query Traces($projectId: ID!, $first: Int = 20, $after: String, $filter: TraceFilter) {\n  traces(projectId: $projectId, first: $first, after: $after, filter: $filter) {\n    edges {\n      node {\n        id\n        externalId\n        name\n        userId\n        startTime\n        latencyMs\n        status\n        totalTokens\n        totalCost\n        unpricedSpanCount\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery Trace($id: ID!) {\n  trace(id: $id) {\n    id\n    name\n    startTime\n    endTime\n    totalTokens\n    totalCost\n    unpricedSpanCount\n    rootSpans {\n      ...SpanFields\n      children {\n        ...SpanFields\n      }\n    }\n  }\n}\n\nfragment SpanFields on Span {\n  id\n  name\n  kind\n  model\n  latencyMs\n  status\n  inputTokens\n  outputTokens\n  totalCost\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;