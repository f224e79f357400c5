// Persisted operations: which documents a request may run, by hash or by text.
// - Trusted documents: codegen's manifest (schema/operations) and operations registered per
//   project (registerPersistedOperations), stored in Postgres with an LRU in front.
// - Automatic persisted queries (Apollo's APQ): any valid key may store a query under its hash
//   (Redis or in process), unless the allow-list is mandatory.
// With `PERSISTED_QUERY_ONLY`, a key that is not an admin runs only trusted documents, whatever
// the transport: HTTP (POST, GET, batches, SSE) asks `admit` in onParams and graphql-ws in
// onSubscribe. The bypass is the key's role, never a header.
// Every text is bounded (EVALGRAPH_MAX_QUERY_BYTES, 413) before it is hashed or parsed: as sent,
// as stored under a hash, and when registered.
import { LRUCache } from 'lru-cache';
import { Counter } from 'prom-client';
import type { Deps } from '../../deps';
import { appError, badInput } from '../../errors';
import { checkQuerySize } from '../../lib/query-size';
import {
  can,
  confinedTo,
  effectiveRole,
  isInstanceAdmin,
  type Principal,
} from '../auth/permissions';
import { hashOfDocumentId, loadManifest, sha256Hex } from './manifest';

const APQ_TTL_SECONDS = 7 * 24 * 3600;
/** Longer queries run (when allowed) but are not kept by APQ. */
const MAX_STORED_CHARS = 64 * 1024;

/** The request fields this looks at (Yoga's params, a graphql-ws subscribe payload). */
export interface OperationParams {
  query?: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
  /** GraphQL over HTTP's persisted documents: "sha256:<hex>". */
  documentId?: unknown;
}

/** An admin key (of the instance, or of the project it is bound to) may run any document. */
export function mayRunAnyDocument(principal: Principal | null): boolean {
  if (!principal) return false;
  if (isInstanceAdmin(principal)) return true;
  return (
    principal.keyProjectId !== null && effectiveRole(principal, principal.keyProjectId) === 'ADMIN'
  );
}

/** The hash a request names, from `documentId` or `extensions.persistedQuery`; undefined when it names none. */
function requestedHash(params: OperationParams): string | undefined {
  if (params.documentId !== undefined && params.documentId !== null) {
    const hash = hashOfDocumentId(params.documentId);
    if (!hash)
      throw badInput('documentId must be "sha256:" and 64 hexadecimal characters.', ['documentId']);
    return hash;
  }
  const persisted = params.extensions?.persistedQuery as
    | { version?: unknown; sha256Hash?: unknown }
    | undefined;
  if (!persisted) return undefined;
  if (persisted.version !== 1)
    throw badInput('Unsupported persisted query version: only 1 is known.', [
      'extensions',
      'persistedQuery',
      'version',
    ]);
  const hash = typeof persisted.sha256Hash === 'string' ? persisted.sha256Hash.toLowerCase() : '';
  if (!/^[0-9a-f]{64}$/.test(hash))
    throw badInput('persistedQuery.sha256Hash must be 64 hexadecimal characters.', [
      'extensions',
      'persistedQuery',
      'sha256Hash',
    ]);
  return hash;
}

export function createPersistedOperations(deps: Deps) {
  const { config } = deps;
  const maxQueryBytes = config.limits.maxQueryBytes;
  const manifest = loadManifest(config.persisted.manifestPath);
  const prisma = deps.db.prisma;
  // hash → the document and the projects that registered it (null: every project).
  const registeredCache = new LRUCache<string, { document: string; projects: (string | null)[] }>({
    max: 10_000,
  });
  const lookups = new Counter({
    name: 'evalgraph_persisted_query_lookups_total',
    help: 'Persisted operation lookups by hash: outcome (hit, miss) and where the document was found (manifest, registered, apq, none).',
    labelNames: ['outcome', 'source'],
    registers: [deps.metrics],
  });

  // Hashes the database did not have, for a few seconds: unknown hashes and refused texts do not
  // cost a query each. Registering here clears it; another process may answer "not found" for
  // up to MISS_TTL_MS after a registration elsewhere, for a hash it was asked just before.
  const MISS_TTL_MS = 5_000;
  const misses = new LRUCache<string, true>({ max: 10_000, ttl: MISS_TTL_MS });
  // New APQ queries per key and minute (this runs before rate limiting): beyond it they still run, unstored.
  const APQ_PER_MINUTE = 120;
  const stored = new LRUCache<string, { n: number }>({
    max: 100_000,
    ttl: 60_000,
    ttlAutopurge: false,
  });
  const registrations = (keyId: string) => {
    const entry = stored.get(keyId) ?? { n: 0 };
    if (!stored.has(keyId)) stored.set(keyId, entry);
    return ++entry.n <= APQ_PER_MINUTE;
  };
  /** The registering projects the principal may use the document for; null: every project (a global registration). */
  const usableIn = (projects: (string | null)[], principal: Principal): string[] | null =>
    projects.includes(null)
      ? null
      : (projects as string[]).filter((p) => can(principal, p, 'view'));

  /** A document registered in the database that the principal may use, with where it may run; or null. */
  async function registered(
    hash: string,
    principal: Principal | null,
  ): Promise<{ document: string; projects: string[] | null } | null> {
    if (!principal) return null;
    let entry = registeredCache.get(hash);
    // Not cached, or cached before another project registered it: ask the database.
    if (!entry || usableIn(entry.projects, principal)?.length === 0) {
      if (misses.has(hash)) return null;
      const rows = await prisma.persistedOperation.findMany({
        where: { hash },
        select: { document: true, projectId: true },
        take: 1_000,
      });
      if (!rows.length) {
        misses.set(hash, true);
        return null;
      }
      entry = { document: rows[0].document, projects: rows.map((r) => r.projectId) };
      registeredCache.set(hash, entry);
    }
    const projects = usableIn(entry.projects, principal);
    return projects?.length === 0 ? null : { document: entry.document, projects };
  }

  /** A trusted document by hash, where it came from, and the projects it may run in (null: any). */
  async function trusted(
    hash: string,
    principal: Principal | null,
  ): Promise<{
    document: string;
    source: 'manifest' | 'registered';
    projects: string[] | null;
  } | null> {
    const fromManifest = manifest.get(hash);
    if (fromManifest !== undefined)
      return { document: fromManifest, source: 'manifest', projects: null };
    const fromDb = await registered(hash, principal);
    return fromDb === null ? null : { ...fromDb, source: 'registered' };
  }

  /** The principal to run a trusted document with: confined to the projects that registered it. */
  const runAs = (principal: Principal | null, projects: string[] | null) =>
    principal && projects ? confinedTo(principal, projects) : principal;

  return {
    /** Trusted documents shipped with the server (tests, the example client). */
    manifest: manifest as ReadonlyMap<string, string>,

    /**
     * The params to run (a hash replaced by its document, a text checked against the allow-list
     * when it is mandatory) and the principal to run them as: confined to the registering projects
     * when only a project's registration makes the document trusted. Throws
     * PERSISTED_QUERY_NOT_FOUND, PERSISTED_QUERY_ONLY or BAD_USER_INPUT.
     */
    async admit<P extends OperationParams>(
      params: P,
      principal: Principal | null,
    ): Promise<{ params: P; principal: Principal | null }> {
      // Admin keys and trusted documents too: the cost of a text is paid before anyone can tell.
      checkQuerySize(params.query, maxQueryBytes);
      const hash = requestedHash(params);
      const { documentId: _documentId, ...rest } = params;
      const open = !config.persisted.only || mayRunAnyDocument(principal);
      if (!params.query) {
        if (hash === undefined) return { params: rest as P, principal }; // Yoga answers "Must provide query string."
        // The manifest (in memory), then APQ's store (an LRU in front of Redis) when allowed,
        // then the database.
        const fromManifest = manifest.get(hash);
        const stored = fromManifest === undefined && open ? await deps.kv.get(`apq:${hash}`) : null;
        const found =
          fromManifest !== undefined
            ? { document: fromManifest, source: 'manifest', projects: null }
            : stored !== null
              ? { document: stored, source: 'apq', projects: null }
              : await trusted(hash, principal);
        if (found) {
          lookups.inc({ outcome: 'hit', source: found.source });
          // Stored under an earlier, larger limit (or a manifest built for another server).
          checkQuerySize(found.document, maxQueryBytes, `The persisted document sha256:${hash}`);
          // Confinement matters only where the allow-list does; an open key runs anything anyway.
          return {
            params: { ...rest, query: found.document } as P,
            principal: open ? principal : runAs(principal, found.projects),
          };
        }
        lookups.inc({ outcome: 'miss', source: 'none' });
        // The message is what Apollo's link (and other APQ clients) look for.
        throw appError('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound', {
          extensions: { hash: `sha256:${hash}` },
        });
      }
      if (typeof params.query !== 'string') return { params: rest as P, principal }; // Yoga refuses it with its own message
      const textHash = sha256Hex(params.query);
      if (hash !== undefined && textHash !== hash)
        throw badInput(
          'The query does not match its hash.',
          params.documentId !== undefined
            ? ['documentId']
            : ['extensions', 'persistedQuery', 'sha256Hash'],
        );
      if (open) {
        // APQ registration: only a valid key may fill the store, and at most so many new queries a minute.
        if (
          hash !== undefined &&
          principal &&
          params.query.length <= MAX_STORED_CHARS &&
          registrations(principal.keyId)
        )
          await deps.kv.set(`apq:${hash}`, params.query, APQ_TTL_SECONDS);
        return { params: rest as P, principal };
      }
      const found = await trusted(textHash, principal);
      if (found) return { params: rest as P, principal: runAs(principal, found.projects) };
      throw appError(
        'PERSISTED_QUERY_ONLY',
        'This server runs only persisted operations for your key: send the hash of a trusted document (documentId or extensions.persistedQuery), or register the operation with registerPersistedOperations.',
        { status: 403 },
      );
    },

    /** Stores validated documents for a project (null: every project); returns their hashes. */
    async register(
      projectId: string | null,
      clientName: string | null,
      documents: { document: string; operationNames: string[] }[],
    ) {
      const saved = [];
      for (const { document, operationNames } of documents) {
        const hash = sha256Hex(document);
        const select = { createdAt: true, clientName: true } as const;
        const existing = await prisma.persistedOperation.findFirst({
          where: { hash, projectId },
          select,
        });
        // A concurrent registration of the same document wins the unique index: read its row.
        const row =
          existing ??
          (await prisma.persistedOperation
            .create({ data: { hash, document, projectId, clientName }, select })
            .catch(async (error: { code?: string }) => {
              const raced =
                error.code === 'P2002'
                  ? await prisma.persistedOperation.findFirst({
                      where: { hash, projectId },
                      select,
                    })
                  : null;
              if (!raced) throw error;
              return raced;
            }));
        registeredCache.delete(hash);
        misses.delete(hash);
        saved.push({
          hash: `sha256:${hash}`,
          operationNames,
          clientName: row.clientName,
          createdAt: row.createdAt,
          created: !existing,
        });
      }
      return saved;
    },

    count: (projectId: string | null) => prisma.persistedOperation.count({ where: { projectId } }),
  };
}

export type PersistedOperations = ReturnType<typeof createPersistedOperations>;
