'use strict';
// Small helpers the benchmarks share: a GraphQL call that fails on errors, and a database URL.

/** POSTs an operation with the key; resolves with `data`, throws on `errors`. */
async function gql(url, key, query, variables) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const json = await res.json();
  if (json.errors) throw new Error(JSON.stringify(json.errors).slice(0, 500));
  return json.data;
}

/** The same server URL with another database. */
const withDatabase = (url, name) =>
  Object.assign(new URL(url), { pathname: `/${name}` }).toString();

module.exports = { gql, withDatabase };
