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

mutation CreateApiKey($projectId: ID) {
  createApiKey(input: { projectId: $projectId, name: "from GraphiQL" }) {
    key
    apiKey { id prefix role }
  }
}
`;
