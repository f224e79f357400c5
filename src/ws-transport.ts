// graphql-ws's protocol server (makeServer) on `ws` sockets: our copy of graphql-ws's `useServer`
// (which its documentation invites to copy and adjust), holding less per socket for its whole
// life, which matters at thousands of idle subscribers: one heartbeat over all sockets instead of
// an interval and a pong timeout per socket; listeners that are shared functions, not `once`
// wrappers; and a message handler that does not await the operation (useServer's does, so each
// subscribe message's buffer stayed alive as long as its subscription ran).
import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';

/** What each connection's context carries besides ours (as graphql-ws's useServer gives it). */
export interface SocketExtra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
}

/** How often every socket is pinged; one that has not answered the previous ping is cut (useServer's default). */
const KEEP_ALIVE_MS = 12_000;

export function serveGraphqlWs<E extends Record<PropertyKey, unknown>>(
  options: ServerOptions<Record<string, unknown>, SocketExtra & Partial<E>>,
  wss: WebSocketServer,
  log: Logger,
) {
  const server = makeServer(options);
  wss.options.handleProtocols = handleProtocols;
  // Without a listener an 'error' would be thrown (useServer closes every socket 4500 on it).
  wss.on('error', (error) => {
    log.error({ err: error }, 'graphql-ws: WebSocket server error; closing every socket');
    for (const socket of wss.clients)
      socket.close(CloseCode.InternalServerError, 'Internal server error');
  });

  // A fault of ours (the protocol's handling threw) closes 4500, as useServer does; the message
  // stays in our log, not in the close reason.
  const internalError = (socket: WebSocket, error: unknown) => {
    log.error({ err: error }, 'graphql-ws: internal error; closing the socket');
    socket.close(CloseCode.InternalServerError, 'Internal server error');
  };
  function socketFailed(this: WebSocket, error: Error) {
    internalError(this, error);
  }
  const unanswered = new Set<WebSocket>();
  function answered(this: WebSocket) {
    unanswered.delete(this);
  }

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    socket.on('error', socketFailed);
    socket.on('pong', answered);
    // Methods, not arrow properties: kept per socket, and under tsx (esbuild's keepNames) a named
    // arrow costs a property dictionary of its own (lib/channel.ts).
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send(data) {
          return new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          });
        },
        close(code, reason) {
          socket.close(code, reason);
        },
        onMessage(handle) {
          socket.on('message', (data) => {
            handle(String(data)).catch((error: unknown) => internalError(socket, error));
          });
        },
      },
      { socket, request } as SocketExtra & Partial<E>,
    );
    socket.on('close', (code, reason) => void closed(code, String(reason)));
  });

  const heartbeat = setInterval(() => {
    for (const socket of unanswered) if (socket.readyState === socket.OPEN) socket.terminate();
    unanswered.clear();
    for (const socket of wss.clients)
      if (socket.readyState === socket.OPEN) {
        unanswered.add(socket);
        socket.ping();
      }
  }, KEEP_ALIVE_MS);
  heartbeat.unref();

  return {
    /** Closes every socket with 1001 (Going Away) and waits for the server to close. */
    async dispose() {
      clearInterval(heartbeat);
      for (const socket of wss.clients) socket.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) =>
        wss.close((error) => (error ? reject(error) : resolve())),
      );
    },
    /** Stops the heartbeat (the sockets are being cut). */
    stop() {
      clearInterval(heartbeat);
    },
  };
}
