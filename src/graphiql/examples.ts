import { randomBytes } from 'node:crypto';

/**
 * What GraphiQL opens with: one document with an example of every capability, and variables that
 * make each runnable as it stands. One tab rather than a tab per example, because GraphiQL keeps
 * headers per tab: the key is pasted once. Dates and ids are made when the page is served, so
 * nothing here goes stale with the calendar.
 */
export const EXAMPLES_DOCUMENT = `# Welcome to Evalgraph. Put your key in the Headers tab:
#   { "Authorization": "Bearer <your api key>" }
# then put the cursor in an operation and press Ctrl-Enter (or pick it from the ▶ button).
# The variables below fill every example; projectId is the instance's first project.

query Viewer {
  viewer {
    id
    email
    tier
    isAdmin
  }
}

query Projects {
  projects(first: 20) {
    totalCount
    edges { node { id name viewerRole } }
  }
}

# Traces: send spans (OTLP works too: POST /v1/traces), then read them back with their costs.
mutation IngestSpans($projectId: ID!, $traceId: String!, $startTime: DateTime!, $endTime: DateTime!) {
  ingestSpans(input: {
    projectId: $projectId
    spans: [
      { traceId: $traceId, spanId: "root", name: "answer question", kind: CHAIN, startTime: $startTime, endTime: $endTime,
        userId: "user-42", sessionId: "session-42" }
      { traceId: $traceId, spanId: "llm", parentSpanId: "root", name: "chat", kind: LLM, model: "gpt-4o-mini",
        inputTokens: 120, outputTokens: 40, input: "What is 2+2?", output: "4", startTime: $startTime, endTime: $endTime }
    ]
  }) {
    acceptedCount
    rejectedCount
    errors { index message }
  }
}

query RecentTraces($projectId: ID!) {
  traces(projectId: $projectId, first: 10) {
    totalCount
    edges {
      node {
        id
        name
        startTime
        latencyMs
        status
        totalTokens
        totalCost
        unpricedSpanCount
        rootSpans { name kind model latencyMs totalCost children { name kind model totalTokens totalCost } }
      }
    }
  }
}

# Spend by model and day over the last 7 days (from and to are set when this page loads).
query SpendByModel($projectId: ID!, $from: DateTime!, $to: DateTime!) {
  costSummary(projectId: $projectId, from: $from, to: $to, groupBy: [MODEL, DAY]) {
    keys { model day }
    calls
    inputTokens
    outputTokens
    cost
    unpricedCalls
    errorRate
    p95LatencyMs
  }
}

# What a dashboard draws: a series per model, a point per hour (zero-filled), top 5 by spend.
query HourlyByModel($projectId: ID!, $from: DateTime!, $to: DateTime!) {
  metrics(projectId: $projectId, from: $from, to: $to, interval: HOUR, groupBy: [MODEL],
          orderBy: { field: COST }, limit: 5) {
    keys { model }
    totals { calls errorRate cost p95LatencyMs }
    points { time calls errors cost p50LatencyMs p95LatencyMs }
  }
}

# Scores: judge a trace, a span (their ids are in RecentTraces), a session or an evaluation item.
# Here an end user's thumbs-up for the session above; a score config of the name, if any, checks it.
mutation CreateScore($projectId: ID!) {
  createScore(input: {
    projectId: $projectId
    sessionId: "session-42"
    name: "helpful"
    dataType: BOOLEAN
    value: 1
    source: FEEDBACK
    userId: "user-42"
  }) {
    score { id name value stringValue source timestamp }
  }
}

query ScoreSummary($projectId: ID!, $from: DateTime!, $to: DateTime!) {
  scoreSummary(projectId: $projectId, from: $from, to: $to, groupBy: [NAME, SOURCE]) {
    keys { name source }
    count
    mean
    p50
    p95
    categoryCounts { category count }
  }
}

# Evaluations: run CreateEvaluation, put the evaluation's id in the variables as "evaluationId",
# then run EvaluationProgress to watch it (the current state first, then every change).
mutation CreateEvaluation($projectId: ID!) {
  createEvaluation(input: {
    projectId: $projectId
    name: "arithmetic"
    dataSource: { items: [
      { input: "2+2", output: "4", expectedOutput: "4" }
      { input: "3*3", output: "6", expectedOutput: "9" }
    ] }
    testingCriteria: [{ type: "string_check", name: "exact answer", operation: "eq",
                        input: "{{sample.output_text}}", reference: "{{item.expected_output}}" }]
  }) {
    evaluation { id status }
  }
}

subscription EvaluationProgress($evaluationId: ID!) {
  evaluationProgress(id: $evaluationId) {
    status
    percentDone
    resultCounts { total completed passed failed errored }
    perTestingCriteriaResults { name passRate meanScore }
  }
}

# Alerts: fire when the project's spend over the last hour exceeds $5.
mutation CreateAlertRule($projectId: ID!) {
  createAlertRule(input: {
    projectId: $projectId
    name: "hourly spend"
    metric: COST
    aggregation: SUM
    operator: GT
    threshold: 5
    windowSeconds: 3600
  }) {
    alertRule { id state nextEvaluationAt }
  }
}

# Webhooks: put your receiver's URL in the variables as "webhookUrl" and create an endpoint (its
# secret is shown once); put its id in the variables as "webhookEndpointId" and send it a signed
# test message; WebhookDeliveries shows how it went.
mutation CreateWebhookEndpoint($projectId: ID!, $webhookUrl: String!) {
  createWebhookEndpoint(input: {
    projectId: $projectId
    url: $webhookUrl
    events: ["evaluation.completed", "alert.fired", "alert.resolved"]
  }) {
    secret
    webhookEndpoint { id url events }
  }
}

mutation SendTestWebhook($webhookEndpointId: ID!) {
  sendTestWebhook(input: { id: $webhookEndpointId }) {
    messageId
  }
}

query WebhookDeliveries($webhookEndpointId: ID!) {
  webhookDeliveries(endpointId: $webhookEndpointId, first: 5) {
    edges { node { status attempts lastStatusCode lastError createdAt } }
  }
}

mutation CreateApiKey($projectId: ID) {
  createApiKey(input: { projectId: $projectId, name: "from GraphiQL" }) {
    key
    apiKey { id prefix role }
  }
}
`;

const DAY_MS = 24 * 60 * 60 * 1000;

/** The variables of EXAMPLES_DOCUMENT, as GraphiQL shows them (a JSON text). */
export function exampleVariables(projectId: string | null, now: Date): string {
  const start = new Date(now.getTime() - 1_200);
  return JSON.stringify(
    {
      projectId: projectId ?? 'run query Projects and put a project id here',
      traceId: randomBytes(16).toString('hex'),
      startTime: start.toISOString(),
      endTime: now.toISOString(),
      from: new Date(now.getTime() - 7 * DAY_MS).toISOString(),
      to: new Date(now.getTime() + 60_000).toISOString(),
      evaluationId: 'put the id CreateEvaluation returned here',
      webhookUrl: 'https://example.com/evalgraph-webhook',
      webhookEndpointId: 'put the id CreateWebhookEndpoint returned here',
    },
    null,
    2,
  );
}
