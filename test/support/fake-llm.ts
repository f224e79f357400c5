// A fake OpenAI-compatible API on loopback for tests: /v1/chat/completions and /v1/embeddings.
// Answers come from rules the test sets (first matching rule wins, by the text of all the
// messages); faults (429 with Retry-After, 500, hangs) are injected by rule or queued once.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatBody {
  model: string;
  messages: { role: string; content: string }[];
  n?: number;
  logprobs?: boolean;
  top_logprobs?: number;
  response_format?: { type: string };
  temperature?: number;
  top_p?: number;
  seed?: number;
  max_tokens?: number;
}

export type Reply =
  | {
      text: string | string[];
      logprobs?: { token: string; top: Record<string, number> }[];
      /** Default 100 prompt and 10 completion tokens; null: the answer reports no usage (as some servers do). */
      usage?: { prompt: number; completion: number } | null;
    }
  | { status: number; headers?: Record<string, string>; body?: unknown }
  | { hang: true };

type Rule = { match: (body: ChatBody, text: string) => boolean; reply: (body: ChatBody) => Reply };

export interface FakeLlm {
  url: string;
  /** Requests received, in order (chat and embeddings). */
  calls: { path: string; at: number; body: ChatBody & { input?: string[] } }[];
  /** Answers chat requests whose messages contain `needle` (or match the predicate). */
  on(
    needle: string | ((body: ChatBody, text: string) => boolean),
    reply: Reply | ((body: ChatBody) => Reply),
  ): void;
  /** The next `count` requests (any path) get this answer before the rules apply. */
  failNext(count: number, reply: Reply): void;
  /** Embedding of a text (default: a bag of its letters, so equal texts have cosine 1). */
  embed: (text: string) => number[];
  delayMs: number;
  /** Requests held open by a `hang` answer and not yet closed by the client. */
  hanging(): number;
  /** Most requests open at once since the last reset. */
  maxOpen(): number;
  reset(): void;
  close(): Promise<void>;
}

/** The env that makes a server judge with this fake. */
export const judgeEnv = (fake: FakeLlm) => ({
  EVALGRAPH_JUDGE_BASE_URL: fake.url,
  EVALGRAPH_JUDGE_API_KEY: 'sk-test',
});

const letters = (text: string) => {
  const v = new Array<number>(26).fill(0);
  for (const c of text.toLowerCase()) {
    const i = c.charCodeAt(0) - 97;
    if (i >= 0 && i < 26) v[i] += 1;
  }
  return v;
};

export async function startFakeLlm(): Promise<FakeLlm> {
  let rules: Rule[] = [];
  let queued: Reply[] = [];
  const hanging = new Set<ServerResponse>();
  let open = 0;
  let peak = 0;

  const fake: FakeLlm = {
    url: '',
    calls: [],
    on(needle, reply) {
      const match =
        typeof needle === 'string' ? (_b: ChatBody, text: string) => text.includes(needle) : needle;
      rules.push({ match, reply: typeof reply === 'function' ? reply : () => reply });
    },
    failNext(count, reply) {
      for (let i = 0; i < count; i++) queued.push(reply);
    },
    embed: letters,
    delayMs: 0,
    hanging: () => hanging.size,
    maxOpen: () => peak,
    reset() {
      rules = [];
      queued = [];
      fake.calls.length = 0;
      fake.embed = letters;
      fake.delayMs = 0;
      peak = open;
    },
    async close() {
      for (const res of hanging) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const send = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  function chatResponse(body: ChatBody, reply: Extract<Reply, { text: unknown }>) {
    const texts = Array.isArray(reply.text)
      ? reply.text
      : Array.from({ length: body.n ?? 1 }, () => reply.text as string);
    return {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: texts.map((text, index) => ({
        index,
        finish_reason: 'stop',
        message: { role: 'assistant', content: text },
        logprobs:
          reply.logprobs && body.logprobs
            ? {
                content: reply.logprobs.map((t) => ({
                  token: t.token,
                  logprob: Math.log(t.top[t.token] ?? 1),
                  bytes: null,
                  top_logprobs: Object.entries(t.top).map(([token, p]) => ({
                    token,
                    logprob: Math.log(p),
                    bytes: null,
                  })),
                })),
              }
            : null,
      })),
      ...(reply.usage === null
        ? {}
        : {
            usage: {
              prompt_tokens: reply.usage?.prompt ?? 100,
              completion_tokens: reply.usage?.completion ?? 10,
              total_tokens: (reply.usage?.prompt ?? 100) + (reply.usage?.completion ?? 10),
            },
          }),
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    open += 1;
    peak = Math.max(peak, open);
    res.once('close', () => (open -= 1));
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    const path = (req.url ?? '').replace(/\?.*/, '');
    fake.calls.push({ path, at: Date.now(), body });
    if (fake.delayMs) await new Promise((r) => setTimeout(r, fake.delayMs));
    const text = (body.messages ?? []).map((m: { content: string }) => m.content).join('\n');
    const reply: Reply | undefined =
      queued.shift() ??
      (path.endsWith('/chat/completions')
        ? rules.find((r) => r.match(body, text))?.reply(body)
        : undefined);
    if (reply && 'hang' in reply) {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (reply && 'status' in reply)
      return send(
        res,
        reply.status,
        reply.body ?? { error: { message: `fake error ${reply.status}`, type: 'fake' } },
        reply.headers,
      );
    if (path.endsWith('/embeddings')) {
      const inputs: string[] = Array.isArray(body.input) ? body.input : [body.input];
      return send(res, 200, {
        object: 'list',
        model: body.model,
        data: inputs.map((t, index) => ({ object: 'embedding', index, embedding: fake.embed(t) })),
        usage: { prompt_tokens: inputs.length * 5, total_tokens: inputs.length * 5 },
      });
    }
    if (path.endsWith('/chat/completions')) {
      if (!reply)
        return send(res, 400, {
          error: {
            message: `no fake rule for: ${text.slice(0, 200)}`,
            type: 'invalid_request_error',
          },
        });
      return send(res, 200, chatResponse(body, reply));
    }
    send(res, 404, { error: { message: 'not found' } });
  }

  const server = createServer(
    (req, res) =>
      void handle(req, res).catch((error) => send(res, 500, { error: { message: String(error) } })),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return fake;
}
