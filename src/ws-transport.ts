// graphql-ws's protocol (`graphql-transport-ws`) on `ws` sockets. graphql-ws's makeServer handles
// the connection (connection_init and its timeout, ping, pong, bad messages); the operations
// (subscribe, complete) are ours. makeServer keeps, for every running operation, its suspended
// message handler (with the message text, the parsed payload, the execution arguments and three
// closures) and an async iterator loop, about 2 KiB per idle subscriber; here an operation is a
// Member: its socket, its id and its Feed (lib/shared-subscribe.ts), whose channel pushes events to
// it. Each event's result is executed and serialized once per group of subscribers and written to
// every member's socket; the same messages, close codes and ordering as graphql-ws's server, so
// its clients see no difference.
//
// Also our copy of graphql-ws's `useServer` glue (its documentation invites that), holding less
// per socket: one heartbeat over all sockets instead of an interval and a pong timeout per socket;
// listeners that are shared functions, not `once` wrappers.
import type { IncomingMessage } from 'node:http';
import { type ExecutionResult, GraphQLError } from 'graphql';
import {
  CloseCode,
  handleProtocols,
  makeServer,
  MessageType,
  validateMessage,
  type Context,
  type ServerOptions,
  type SubscribePayload,
} from 'graphql-ws';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';
import { isListenable, type ChannelSink } from './lib/channel';
import { Feed } from './lib/shared-subscribe';

/** What each connection's context carries besides ours (as graphql-ws's useServer gives it). */
export interface SocketExtra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
}

/**
 * What a subscribe message's operation came to: refused before it ran (an `error` message), one
 * result (`next`, then `complete`), a subscription (its Feed) or another stream of results.
 */
export type Operation =
  | readonly GraphQLError[]
  | ExecutionResult
  | Feed
  | AsyncIterable<ExecutionResult>;

export interface OperationOptions<E> {
  /** Runs a subscribe message; `running` counts the connection's operations, this one included. */
  operate(
    ctx: Context<Record<string, unknown>, SocketExtra & Partial<E>>,
    id: string,
    payload: SubscribePayload,
    running: number,
  ): Promise<Operation>;
  /** An error of a result, as the client may see it (Yoga's masking; it applies to events here). */
  mask(error: GraphQLError): GraphQLError;
}

/** How often every socket is pinged; one that has not answered the previous ping is cut (useServer's default). */
const KEEP_ALIVE_MS = 12_000;

const isAsyncIterable = (value: unknown): value is AsyncIterable<ExecutionResult> =>
  typeof (value as AsyncIterable<unknown>)?.[Symbol.asyncIterator] === 'function';

/** Sends `text`; resolves once written (or at once when the socket is closing). */
function write(socket: WebSocket, text: string) {
  return new Promise<void>((resolve, reject) => {
    if (socket.readyState !== socket.OPEN) return resolve();
    socket.send(text, (error) => (error ? reject(error) : resolve()));
  });
}

const idText = (id: string) => `{"id":${JSON.stringify(id)},"type":`;

/**
 * What every member shares: masking and serializing a result once however many sockets it goes
 * to, and the operations of each socket.
 */
class Operations {
  /** result → its `payload` text, masked (results are shared by the members of a group). */
  private readonly texts = new WeakMap<ExecutionResult, string>();
  /** socket → its running operations by id (a member is registered when its subscribe arrives). */
  readonly bySocket = new WeakMap<WebSocket, Map<string, Member>>();

  constructor(
    private readonly mask: (error: GraphQLError) => GraphQLError,
    readonly failed: (socket: WebSocket, error: unknown) => void,
  ) {}

  /** A fault as the client may see it: any error, masked. */
  masked(error: unknown): GraphQLError {
    return this.mask(
      error instanceof GraphQLError
        ? error
        : new GraphQLError(error instanceof Error ? error.message : String(error), {
            originalError: error instanceof Error ? error : undefined,
          }),
    );
  }

  payloadOf(result: ExecutionResult): string {
    let text = this.texts.get(result);
    if (text === undefined) {
      const masked = result.errors?.length
        ? { ...result, errors: result.errors.map((e) => this.mask(e)) }
        : result;
      this.texts.set(result, (text = JSON.stringify(masked)));
    }
    return text;
  }

  next(socket: WebSocket, id: string, result: ExecutionResult) {
    return write(socket, `${idText(id)}"${MessageType.Next}","payload":${this.payloadOf(result)}}`);
  }

  error(socket: WebSocket, id: string, errors: readonly GraphQLError[]) {
    return write(
      socket,
      `${idText(id)}"${MessageType.Error}","payload":${JSON.stringify(errors)}}`,
    );
  }

  complete(socket: WebSocket, id: string) {
    return write(socket, `${idText(id)}"${MessageType.Complete}"}`);
  }
}

/**
 * One running operation of a socket. A class (thousands are open at once; see lib/channel.ts).
 * As a subscription, the sink of its feed's channel: each event comes pushed, is sent, and the
 * next one is asked for once the socket has taken it (the channel holds what comes meanwhile as
 * it holds for a slow reader).
 */
class Member implements ChannelSink<unknown> {
  private feed: Feed | null = null;
  private iterator: AsyncIterator<ExecutionResult> | null = null;
  private stopped = false;

  constructor(
    private readonly operations: Operations,
    private readonly socket: WebSocket,
    readonly id: string,
  ) {}

  /** Still registered under its id (not completed by the client, its socket not closed). */
  get running() {
    return !this.stopped;
  }

  follow(feed: Feed) {
    this.feed = feed;
    if (isListenable(feed.source)) return feed.source.listen(this);
    // Not one of our channels: read it.
    void this.read(feed);
  }

  take(payload: unknown) {
    void this.deliver(payload).then(() => {
      if (!this.stopped && isListenable(this.feed!.source)) this.feed!.source.ready();
    });
  }

  /** The stream ended (or was ended: the key revoked, access lost, the evaluation deleted). */
  end() {
    if (this.stopped) return;
    this.leave();
    void this.operations
      .complete(this.socket, this.id)
      .catch((error) => this.operations.failed(this.socket, error));
  }

  /** The client completed the operation or its socket closed: nothing more is sent. */
  stop() {
    if (this.stopped) return;
    this.leave();
    void this.feed?.source.return?.();
    void this.iterator?.return?.();
  }

  /** Sends a stream of results that is not a feed (not used by our schema: no @defer / @stream). */
  async stream(results: AsyncIterable<ExecutionResult>) {
    const iterator = results[Symbol.asyncIterator]();
    this.iterator = iterator;
    for (;;) {
      const next = await iterator.next();
      if (next.done || this.stopped) break;
      await this.operations.next(this.socket, this.id, next.value);
    }
    this.end();
  }

  private leave() {
    this.stopped = true;
    const running = this.operations.bySocket.get(this.socket);
    if (running?.get(this.id) === this) running.delete(this.id);
    this.feed?.leave();
  }

  private async read(feed: Feed) {
    for (;;) {
      const next = await feed.source.next();
      if (next.done || this.stopped) break;
      await this.deliver(next.value);
    }
    this.end();
  }

  private async deliver(payload: unknown) {
    const feed = this.feed!;
    let sent: ExecutionResult;
    try {
      const result = await feed.result(payload);
      sent = feed.charge ? await feed.charge.pay(result) : result;
      // What the client gets is counted (a throttled event is a RATE_LIMITED error, not data).
      feed.meter?.event(sent);
    } catch (error) {
      // A fault of ours while executing or charging: this operation ends with it, masked as any
      // error of a result is (the socket's other operations go on).
      if (this.stopped) return;
      this.stop();
      await this.operations
        .error(this.socket, this.id, [this.operations.masked(error)])
        .catch((e) => this.operations.failed(this.socket, e));
      return;
    }
    // A write that fails is the socket's fault, not the operation's: closed 4500 and logged.
    if (!this.stopped)
      await this.operations
        .next(this.socket, this.id, sent)
        .catch((e) => this.operations.failed(this.socket, e));
  }
}

export function serveGraphqlWs<E extends Record<PropertyKey, unknown>>(
  options: ServerOptions<Record<string, unknown>, SocketExtra & Partial<E>> & OperationOptions<E>,
  wss: WebSocketServer,
  log: Logger,
) {
  type Ctx = Context<Record<string, unknown>, SocketExtra & Partial<E>>;
  // Sockets whose connection_init was accepted (graphql-ws acknowledges them), and their context.
  const acknowledged = new WeakMap<WebSocket, Ctx>();
  const server = makeServer({
    ...options,
    async onConnect(ctx) {
      const permitted = await options.onConnect?.(ctx);
      if (permitted !== false) acknowledged.set(ctx.extra.socket, ctx);
      return permitted;
    },
  });
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
  const operations = new Operations(options.mask, internalError);

  async function subscribe(socket: WebSocket, id: string, payload: SubscribePayload) {
    const ctx = acknowledged.get(socket);
    if (!ctx) return socket.close(CloseCode.Unauthorized, 'Unauthorized');
    let running = operations.bySocket.get(socket);
    if (!running) operations.bySocket.set(socket, (running = new Map()));
    if (running.has(id))
      return socket.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${id} already exists`);
    // Registered before anything is awaited: operations arriving meanwhile count it.
    const member = new Member(operations, socket, id);
    running.set(id, member);
    const operation = await options.operate(ctx, id, payload, running.size);
    if (operation instanceof Feed) {
      // Completed by the client (or its socket closed) while it was being set up.
      if (!member.running) {
        operation.leave();
        void operation.source.return?.();
        return;
      }
      return member.follow(operation);
    }
    if (isAsyncIterable(operation)) {
      if (member.running) return member.stream(operation);
      return void operation[Symbol.asyncIterator]().return?.();
    }
    if (!member.running) return;
    if (Array.isArray(operation)) {
      member.stop();
      return operations.error(socket, id, operation as readonly GraphQLError[]);
    }
    await operations.next(socket, id, operation as ExecutionResult);
    if (!member.running) return;
    member.stop();
    await operations.complete(socket, id);
  }

  /** Ours when it is a well-formed subscribe or complete; anything else is graphql-ws's. */
  function route(socket: WebSocket, text: string, handle: (data: string) => Promise<void>) {
    let message: ReturnType<typeof validateMessage> | null = null;
    try {
      message = validateMessage(JSON.parse(text));
    } catch {
      // graphql-ws answers it (4400 Bad Request).
    }
    if (message?.type === MessageType.Subscribe)
      return subscribe(socket, message.id, message.payload);
    if (message?.type === MessageType.Complete) {
      operations.bySocket.get(socket)?.get(message.id)?.stop();
      return Promise.resolve();
    }
    return handle(text);
  }

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
          return write(socket, data);
        },
        close(code, reason) {
          socket.close(code, reason);
        },
        onMessage(handle) {
          // Not awaited: a subscription runs long after its message.
          socket.on('message', (data) => {
            route(socket, String(data), handle).catch((error: unknown) =>
              internalError(socket, error),
            );
          });
        },
      },
      { socket, request } as SocketExtra & Partial<E>,
    );
    socket.on('close', (code, reason) => {
      unanswered.delete(socket);
      for (const member of [...(operations.bySocket.get(socket)?.values() ?? [])]) member.stop();
      operations.bySocket.delete(socket);
      void closed(code, String(reason));
    });
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
