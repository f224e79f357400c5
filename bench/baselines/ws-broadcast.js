'use strict';
// Baseline for bench/subscriptions: a plain `ws` server that broadcasts one JSON text to every
// connected client. POST /broadcast with the text as body sends it to all (each client gets the
// same string: no per-client work but the socket write). PORT from the environment.
const http = require('node:http');
const { WebSocketServer } = require('ws');

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/broadcast') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks)
        .toString()
        .replace('"__AT__"', JSON.stringify(new Date().toISOString()));
      for (const client of wss.clients) if (client.readyState === 1) client.send(text);
      res.end(String(wss.clients.size));
    });
    return;
  }
  res.writeHead(req.url === '/health' ? 200 : 404).end(String(wss.clients.size));
});
const wss = new WebSocketServer({ server, path: '/graphql' });
server.listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
