'use strict';
// A fake OpenAI-compatible judge for the evaluations benchmark: every chat completion is answered
// after a fixed delay, as a provider with that latency would. score_model prompts get a score,
// label_model prompts a label.
const http = require('node:http');

function startFakeJudge({ delayMs, hold = () => Promise.resolve() }) {
  let calls = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      calls += 1;
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
      const text = (body.messages || []).map((m) => m.content).join('\n');
      const answer = text.includes('"label"')
        ? { label: 'polite' }
        : { score: 0.9, reasoning: 'fine' };
      // `hold` lets a benchmark keep answers back until it is ready (all clients subscribed).
      void hold().then(() =>
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              id: 'chatcmpl-bench',
              object: 'chat.completion',
              created: 0,
              model: body.model,
              choices: [
                {
                  index: 0,
                  finish_reason: 'stop',
                  message: { role: 'assistant', content: JSON.stringify(answer) },
                },
              ],
              usage: { prompt_tokens: 120, completion_tokens: 12, total_tokens: 132 },
            }),
          );
        }, delayMs),
      );
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/v1`,
        calls: () => calls,
        close: () => new Promise((r) => server.close(r)),
      }),
    ),
  );
}

module.exports = { startFakeJudge };
