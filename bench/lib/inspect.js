'use strict';
// The live memory of a server process, after a full garbage collection, through the V8 inspector:
// start the server with --inspect=127.0.0.1:0 and pass its output lines here. RSS alone moves with
// whatever garbage happens to be uncollected, which at a few KiB per client is all noise.
const WebSocket = require('ws');

/** A session on the server's inspector: `call(method, params)`, `on(method, fn)`, `close()`. */
async function connect(outputLines) {
  const url = [...outputLines]
    .reverse()
    .map((l) => /Debugger listening on (ws:\/\/\S+)/.exec(l))
    .find(Boolean)?.[1];
  if (!url)
    throw new Error(
      'no inspector URL in the server output (was it started with --inspect=127.0.0.1:0?)',
    );
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let id = 0;
  const events = new Map();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data));
    if (message.method) events.get(message.method)?.(message.params);
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const mine = ++id;
      const onMessage = (data) => {
        const message = JSON.parse(String(data));
        if (message.id !== mine) return;
        socket.off('message', onMessage);
        if (message.error) reject(new Error(message.error.message));
        else resolve(message.result);
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id: mine, method, params }));
    });
  return { call, on: (method, fn) => events.set(method, fn), close: () => socket.close() };
}

async function liveMemory(outputLines) {
  const { call, close } = await connect(outputLines);
  try {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const { result } = await call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    });
    const usage = JSON.parse(result.value);
    return usage.heapUsed + usage.external;
  } finally {
    close();
  }
}

/** Writes a heap snapshot of the server to `file` (read it with lib/heap-diff.js or Chrome's DevTools). */
async function heapSnapshot(outputLines, file) {
  const out = require('node:fs').createWriteStream(file);
  const { call, on, close } = await connect(outputLines);
  try {
    on('HeapProfiler.addHeapSnapshotChunk', ({ chunk }) => out.write(chunk));
    await call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  } finally {
    close();
    await new Promise((resolve) => out.end(resolve));
  }
}

module.exports = { liveMemory, heapSnapshot };
