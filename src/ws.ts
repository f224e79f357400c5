// GraphQL over WebSocket (graphql-ws, subprotocol `graphql-transport-ws` only) on /graphql,
// through the same envelop plugins as HTTP (yoga.getEnveloped). The key in
// `connectionParams.authorization` ("Bearer <key>") is checked at connection_init and again at
// every subscribe; a revoked key's sockets are closed (4403). Limits: subscriptions per
// connection, init timeout, message size, query text size (admit answers 413's error on the
// operation: there is no HTTP status to set), and the anonymous bucket of the client's address
// (4429 at connection_init).
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { DocumentNode } from 'graphql';
import { getOperationAST, GraphQLError } from 'graphql';
import { WebSocketServer, type WebSocket } from 'ws';
import type { App } from './app';
import type { Deps } from './deps';
import { appError, serviceUnavailable } from './errors';
import { settledBy } from './lib/deadline';
import { authenticateHeader } from './modules/auth/authenticate';
import type { Principal } from './modules/auth/permissions';
import { createMaskError, DATABASE_UNAVAILABLE_MESSAGE } from './plugins/use-error-codes';
import { isDatabaseUnavailable } from './storage/db-errors';
import { serveGraphqlWs, type Operation } from './ws-transport';

type Extra = {
  principal?: Principal;
  /** The client's address, read from the upgrade request at connection_init. */
  address?: string;
};

/** The "Bearer <key>" of connectionParams, or null. */
function authorizationOf(params: Readonly<Record<string, unknown>> | undefined): string | null {
  const header = params?.authorization ?? params?.Authorization;
  return typeof header === 'string' ? header : null;
}

/** The client's address of the connection (lib/client-address.ts), as HTTP requests find it. */
function addressOf(app: App, request: IncomingMessage): string | undefined {
  const forwarded = request.headers['x-forwarded-for'];
  return app.services.clientAddress(
    request.socket.remoteAddress,
    Array.isArray(forwarded) ? forwarded.join(',') : forwarded,
  );
}

/**
 * Who holds the connection's key now; null when it is missing or no longer valid, or not allowed
 * from the connection's address (other errors throw).
 */
async function principalOf(
  app: App,
  params: Readonly<Record<string, unknown>> | undefined,
  address: string | undefined,
): Promise<Principal | null> {
  try {
    return await authenticateHeader(app.services.auth, authorizationOf(params), address);
  } catch (error) {
    const code = error instanceof GraphQLError ? error.extensions.code : undefined;
    if (code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') return null;
    throw error;
  }
}

/** A fault (the database or Redis away), which a retry may clear, as its coded error; else null. */
function unavailable(error: unknown): GraphQLError | null {
  if (error instanceof GraphQLError && error.extensions.code === 'SERVICE_UNAVAILABLE')
    return error;
  return isDatabaseUnavailable(error) ? serviceUnavailable(DATABASE_UNAVAILABLE_MESSAGE) : null;
}

export function attachWebSockets(server: Server, app: App, deps: Deps) {
  const limits = deps.config.subscriptions;
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxPayloadBytes });
  const socketsByKey = new Map<string, Set<WebSocket>>();
  // The secret (its hash) each socket authenticated with: a rotation ends that secret's sockets only.
  const secretOf = new WeakMap<WebSocket, string | undefined>();
  // Every upgraded socket until it closes: the HTTP server no longer counts them as its
  // connections (closeAllConnections leaves them open), yet server.close() waits for them.
  const upgraded = new Set<Duplex>();
  let closing = false;

  /** Answers and closes at once: the server's sockets are half-open, so end() alone waits for the peer. */
  const refuse = (socket: Duplex, status: string) => {
    socket.once('finish', () => socket.destroy());
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  // Listeners that use `this`, not closures made in onUpgrade: those would share its scope, which
  // holds the upgrade request, and keep it (about 1 KiB with its headers) for the socket's life.
  function destroy(this: Duplex) {
    this.destroy();
  }
  function forget(this: Duplex) {
    upgraded.delete(this);
  }
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // First: Node leaves an upgraded socket without an error handler, and a reset would crash us.
    socket.on('error', destroy);
    upgraded.add(socket);
    // `on`, not `once` ('close' comes once): once wraps each listener in two more objects.
    socket.on('close', forget);
    if (closing) return refuse(socket, '503 Service Unavailable');
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/graphql') return refuse(socket, '404 Not Found');
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  server.on('upgrade', onUpgrade);

  const offRevoked = app.services.subscriptions.onRevoked((keyId, secretHash) => {
    for (const socket of socketsByKey.get(keyId) ?? [])
      if (secretHash === undefined || secretOf.get(socket) === secretHash)
        socket.close(4403, 'Forbidden: the API key was revoked or its secret rotated out');
  });

  // Events of a subscription reach the socket without envelop's per-event layers: their errors are
  // masked as Yoga's masking (app.ts maskedErrors) would.
  const maskError = createMaskError(deps.log);
  const graphqlWs = serveGraphqlWs<Extra>(
    {
      connectionInitWaitTimeout: limits.initTimeoutMs,
      async onConnect(ctx) {
        const address = addressOf(app, ctx.extra.request);
        ctx.extra.address = address;
        // The upgrade request is not kept for the connection's life (about 1 KiB a socket with its
        // headers): its address was all that is needed of it.
        Object.assign(ctx.extra, { request: undefined });
        // The key is known only now (in connection_init), not at the upgrade.
        const retryAfter = await app.services.anonymous.admit(
          address,
          authorizationOf(ctx.connectionParams),
        );
        if (retryAfter !== null) {
          // graphql-ws's own code for too many connection_init, with the wait in the reason.
          ctx.extra.socket.close(
            4429,
            `Too many connections without a valid API key; retry after ${retryAfter} s`,
          );
          return false;
        }
        let principal: Principal | null;
        try {
          principal = await principalOf(app, ctx.connectionParams, address);
        } catch (error) {
          // The key cannot be checked now (the database is away): 1013 Try Again Later, which
          // clients retry; a throw would close 4500, which graphql-ws's client takes as fatal.
          if (!unavailable(error)) throw error;
          ctx.extra.socket.close(1013, 'Try again later: the service is unavailable');
          return false;
        }
        // Subscriptions need a key: without one (or with a bad one, or one not allowed from this
        // address) the socket closes 4403.
        if (!principal) return false;
        // Closed while the key was being checked: nothing to track.
        if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false;
        ctx.extra.principal = principal;
        const sockets = socketsByKey.get(principal.keyId) ?? new Set();
        sockets.add(ctx.extra.socket);
        secretOf.set(ctx.extra.socket, principal.secretHash);
        socketsByKey.set(principal.keyId, sockets);
        ctx.extra.socket.on('close', () => {
          sockets.delete(ctx.extra.socket);
          if (!sockets.size && socketsByKey.get(principal.keyId) === sockets)
            socketsByKey.delete(principal.keyId);
        });
        return true;
      },
      async operate(ctx, _id, payload, running) {
        // The reservation of this operation is counted already.
        if (running > limits.maxPerConnection) {
          return [
            appError(
              'RATE_LIMITED',
              `At most ${limits.maxPerConnection} operations may run at once on one connection.`,
              { extensions: { limit: limits.maxPerConnection } },
            ),
          ];
        }
        let principal: Principal | null;
        try {
          principal = await principalOf(app, ctx.connectionParams, ctx.extra.address);
        } catch (error) {
          // The operation fails with its code (SERVICE_UNAVAILABLE); the connection stays.
          const fault = unavailable(error);
          if (fault) return [fault];
          throw error;
        }
        if (!principal) {
          ctx.extra.socket.close(4403, 'Forbidden: the API key is unknown, revoked or not allowed');
          return [appError('UNAUTHENTICATED', 'The API key is unknown or revoked.')];
        }
        // Each operation counts in the instance's hour (it holds no slot in flight while it streams).
        const overHour = await app.services.instanceLimits.countOperation();
        if (overHour) {
          const { http: _status, ...extensions } = overHour.extensions;
          return [new GraphQLError(overHour.message, { extensions })];
        }
        // Persisted operations as over HTTP: a hash becomes its document (send `query: ""`), and
        // with PERSISTED_QUERY_ONLY a non-admin key runs trusted documents only.
        let admitted: Awaited<ReturnType<typeof app.services.operations.admit>>;
        try {
          admitted = await app.services.operations.admit(payload, principal);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const { params } = admitted;
        // The principal as admitted: confined to the projects of the document's registration.
        const enveloped = app.getEnveloped({
          wsPrincipal: admitted.principal,
          wsAddress: ctx.extra.address,
          params,
        });
        let document: DocumentNode;
        try {
          document = enveloped.parse(params.query);
        } catch (error) {
          return [
            error instanceof GraphQLError
              ? error
              : new GraphQLError('Could not parse the document.'),
          ];
        }
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length) return errors;
        const operation = getOperationAST(document, params.operationName);
        if (!operation) return [new GraphQLError('Unable to identify operation')];
        const args = {
          schema: enveloped.schema,
          document,
          operationName: params.operationName,
          variableValues: params.variables,
          contextValue: await enveloped.contextFactory(),
        };
        // A subscription comes back as a Feed (lib/shared-subscribe.ts): its events are pushed
        // to the socket by ws-transport.ts; the envelop plugins' per-event work rides on it.
        return (await (operation.operation === 'subscription'
          ? enveloped.subscribe(args)
          : enveloped.execute(args))) as Operation;
      },
      mask: (error) => maskError(error) as GraphQLError,
    },
    wss,
    deps.log,
  );

  const cut = () => {
    graphqlWs.stop();
    for (const socket of wss.clients) socket.terminate();
    for (const socket of upgraded) socket.destroy();
  };

  return {
    /** Open sockets (tests, metrics). */
    size: () => wss.clients.size,
    /**
     * Refuses new sockets and closes the open ones with 1001 (Going Away); those that have not
     * finished closing by `by` (epoch ms: a peer that does not answer the close) are cut then.
     */
    async close(by = Infinity) {
      closing = true;
      offRevoked();
      const disposed = graphqlWs.dispose();
      if (await settledBy([disposed], by)) return;
      cut();
      await disposed;
    },
    /** Cuts every upgraded socket at once (the shutdown deadline has come). */
    destroy: cut,
  };
}
