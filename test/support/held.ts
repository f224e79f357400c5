// A GraphQL request held open on the server for as long as a test wants, without timing: its
// headers and part of its body are sent, the rest when the test says so. The server has taken it
// (it is in flight) while it waits for the body; release() sends the rest and gives its answer.
import { request as httpRequest } from 'node:http';

export interface HeldRequest {
  /** Sends the rest of the body; resolves with the answer's status and body. */
  release(): Promise<{ status: number; body: any }>;
  /** Closes the connection without finishing the body (what a crashed client leaves). */
  abort(): void;
}

export function holdRequest(baseUrl: string, key: string, query = '{ __typename }'): HeldRequest {
  const body = Buffer.from(JSON.stringify({ query }));
  const url = new URL('/graphql', baseUrl);
  const req = httpRequest(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-length': String(body.length),
      authorization: `Bearer ${key}`,
    },
  });
  const answer = new Promise<{ status: number; body: any }>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: JSON.parse(Buffer.concat(chunks).toString()),
        }),
      );
    });
    req.on('error', reject);
  });
  answer.catch(() => {}); // abort() rejects it on purpose
  req.flushHeaders();
  req.write(body.subarray(0, 5));
  return {
    release() {
      req.end(body.subarray(5));
      return answer;
    },
    abort: () => req.destroy(),
  };
}

/** A metric's value in a Prometheus text exposition (null: absent). */
export function metricValue(text: string, name: string, labels = ''): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').at(-1)) : null;
}
