/** Operations preloaded in GraphiQL, so a person exploring sees what to try first. */
export const GRAPHIQL_EXAMPLES = `# Welcome to Evalgraph. Put your key in the Headers tab:
#   { "Authorization": "Bearer <your api key>" }
# then run an operation with the ▶ button.

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
    edges {
      node {
        id
        name
        viewerRole
        members(first: 10) { edges { node { role user { email } } } }
      }
    }
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
        rootSpans { name kind model latencyMs children { name kind model totalCost } }
      }
    }
  }
}

query SpendByModel($projectId: ID!) {
  costSummary(projectId: $projectId, from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z", groupBy: [MODEL, DAY]) {
    keys { model day }
    inputTokens
    outputTokens
    cost
    calls
    unpricedCalls
    errorRate
    p95LatencyMs
  }
}

mutation CreateApiKey($projectId: ID) {
  createApiKey(input: { projectId: $projectId, name: "from GraphiQL" }) {
    key
    apiKey { id prefix role }
  }
}
`;
