import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { Deps } from '../../deps';
import { badInput, forbidden, notFound } from '../../errors';
import type { Prisma } from '../../generated/prisma/client';
import { Role, Tier } from '../../generated/prisma/enums';
import { parseInput } from '../../lib/validate';
import { cidrsWithin, createAddressMatcher, parseCidr } from '../../lib/client-address';
import { topics } from '../events/catalogue';
import { describeApiKey, generateApiKey, hashApiKey } from './api-key';
import { canGrantRole, isInstanceAdmin, type Principal } from './permissions';
import { createAuthRepo } from './repo';

/** How long a key lookup is reused. Revocations and access changes are announced to every process
 * at once (pub/sub); this bounds how stale a principal can be only when an announcement is lost. */
const KEY_CACHE_MS = 5_000;

const createUserInput = z.object({
  email: z
    .email()
    .max(320)
    .transform((e) => e.toLowerCase()),
  name: z.string().trim().min(1).max(200).nullish(),
  isAdmin: z.boolean().default(false),
  tier: z.enum(Tier).default('FREE'),
});

/** Most entries of a key's address allowlist. */
export const MAX_ALLOWED_CIDRS = 32;
/** Longest overlap of a rotated-out secret: a week covers a deploy cycle, not a forgotten key. */
export const MAX_ROTATION_OVERLAP_SECONDS = 7 * 86_400;

// Each entry canonical ("10.0.0.0/8", "127.0.0.1/32"); an empty list or null: any address.
const allowedCidrs = z
  .array(z.string())
  .max(MAX_ALLOWED_CIDRS, { message: `at most ${MAX_ALLOWED_CIDRS} entries` })
  .nullish()
  .transform((list, ctx) =>
    list?.map((entry, i) => {
      const cidr = parseCidr(entry);
      if (!cidr)
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `"${entry}" is not an IPv4/IPv6 CIDR or address`,
        });
      return cidr ?? entry;
    }),
  );

const createKeyInput = z.object({
  userId: z.uuid(),
  projectId: z.uuid().nullish(),
  role: z.enum(Role).nullish(),
  name: z.string().trim().min(1).max(200).nullish(),
  allowedCidrs,
});

const updateKeyInput = z.object({
  name: z.string().trim().min(1).max(200).nullish(),
  allowedCidrs,
});

const rotateKeyInput = z.object({
  overlapSeconds: z.number().int().min(0).max(MAX_ROTATION_OVERLAP_SECONDS).nullish(),
});

/** More writes of a change's transaction (its audit entry), given the written row. */
type Within<T = unknown> = (tx: Prisma.TransactionClient, written: T) => Promise<void>;

export function createAuthService(deps: Deps) {
  const repo = createAuthRepo(deps.db.prisma);
  /** `write` and then `within`, in one transaction (just `write` without `within`). */
  const inTransaction = <T>(
    write: (tx: Prisma.TransactionClient) => Promise<T>,
    within?: Within<T>,
  ) =>
    within
      ? deps.db.prisma.$transaction(async (tx) => {
          const written = await write(tx);
          await within(tx, written);
          return written;
        })
      : write(deps.db.prisma);
  // `until`: a rotated-out secret's principal is good only until its overlap ends (business time).
  const keys = new LRUCache<string, { principal: Principal; until: Date | null }>({
    max: 10_000,
    ttl: KEY_CACHE_MS,
  });
  // Unknown and revoked keys apart: a flood of made-up keys must not push valid ones out.
  const unknownKeys = new LRUCache<string, true>({ max: 10_000, ttl: KEY_CACHE_MS });

  async function loadKey(where: { hash: string } | { id: string }) {
    const now = deps.clock.now();
    const key = await repo.findActiveKey(where, now);
    if (!key) return null;
    if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > 60_000) {
      repo
        .touchKey(key.id, now)
        .catch((error) => deps.log.warn({ err: error }, 'could not record key use'));
    }
    const { memberships, ...user } = key.user;
    const principal: Principal = {
      user,
      userId: key.user.id,
      email: key.user.email,
      isAdmin: key.user.isAdmin,
      tier: key.user.tier,
      keyId: key.id,
      keyProjectId: key.projectId,
      keyRole: key.role,
      memberships: new Map(memberships.map((m) => [m.projectId, m.role])),
    };
    if (key.allowedCidrs.length) {
      principal.addressAllowed = createAddressMatcher(key.allowedCidrs);
      principal.allowedCidrs = key.allowedCidrs;
    }
    if ('hash' in where) principal.secretHash = where.hash;
    const viaPrevious = 'hash' in where && key.previousHash === where.hash;
    return { principal, until: viaPrevious ? key.previousExpiresAt : null };
  }

  const loadPrincipal = async (where: { hash: string } | { id: string }) =>
    (await loadKey(where))?.principal ?? null;

  /** The principal of a key, or null when the key is unknown, revoked or rotated out. */
  async function authenticate(key: string): Promise<Principal | null> {
    const hash = hashApiKey(key);
    const cached = keys.get(hash);
    if (cached && (!cached.until || cached.until > deps.clock.now())) return cached.principal;
    if (unknownKeys.has(hash)) return null;
    const loaded = await loadKey({ hash });
    if (loaded) keys.set(hash, loaded);
    else unknownKeys.set(hash, true);
    return loaded?.principal ?? null;
  }

  // A key revoked, or a user's access changed, in another process takes effect here at once too.
  deps.pubsub.listen(topics.keyRevoked, () => keys.clear());
  deps.pubsub.listen(topics.accessChanged, () => keys.clear());

  /** Someone's membership, role, tier or limits changed: every process drops its cached principals. */
  function accessChanged(userId: string) {
    keys.clear();
    deps.pubsub.publish(topics.accessChanged, { userId });
  }

  async function createUser(
    input: z.input<typeof createUserInput>,
    within?: Within<Awaited<ReturnType<typeof repo.createUser>>>,
  ) {
    const data = parseInput(createUserInput, input);
    if (await repo.findUserByEmail(data.email))
      throw badInput(`A user with email ${data.email} exists already.`, ['input', 'email']);
    return inTransaction((tx) => createAuthRepo(tx).createUser(data), within);
  }

  /** A key with an allowlist cannot give itself or another key a wider one (or none). */
  function refuseWiderAllowlist(actor: Principal, cidrs: readonly string[]) {
    if (actor.allowedCidrs && !cidrsWithin(actor.allowedCidrs, cidrs))
      throw forbidden(
        'Your key is limited to some addresses (allowedCidrs): a key it creates, changes or rotates must be limited within them.',
      );
  }

  /**
   * Creates a key for a user, optionally bound to a project and narrowed to a role.
   * `actor` is the principal asking (null for the CLI and start-up, which act as the operator).
   */
  async function createApiKey(
    actor: Principal | null,
    input: z.input<typeof createKeyInput>,
    fixedKey?: string,
    tx?: Prisma.TransactionClient,
  ) {
    const data = parseInput(createKeyInput, input);
    const txRepo = tx ? createAuthRepo(tx) : repo;
    const user = await txRepo.findUser(data.userId);
    // A deleted user (deleteUser) gets no key again.
    if (!user || user.deletedAt) throw notFound('User');
    // A key bound to a project sees no other: naming one is naming nothing (before any lookup
    // that could tell the user's other projects from projects that do not exist).
    if (
      actor &&
      !isInstanceAdmin(actor) &&
      actor.keyProjectId &&
      data.projectId &&
      actor.keyProjectId !== data.projectId
    )
      throw notFound('Project');
    // It ships inside a web app: it must reach one project and nothing else.
    if (data.role === 'FEEDBACK' && !data.projectId)
      throw badInput('A FEEDBACK key must be bound to a project (projectId).', [
        'input',
        'projectId',
      ]);
    if (data.projectId) {
      // An instance admin is ADMIN of every project that exists; a membership vouches for its project.
      const exists = await txRepo.projectExists(data.projectId);
      const role = !exists
        ? null
        : user.isAdmin
          ? 'ADMIN'
          : await txRepo.membershipRole(user.id, data.projectId);
      // For their own key, a project the user is not in does not exist as far as they can tell.
      if (!exists || (!role && actor && actor.userId === user.id)) throw notFound('Project');
      if (!role)
        throw badInput('The user is not a member of that project.', ['input', 'projectId']);
      if (data.role && !canGrantRole(role, data.role)) {
        throw badInput(`The user's role in the project (${role}) does not include ${data.role}.`, [
          'input',
          'role',
        ]);
      }
    }
    if (actor && !isInstanceAdmin(actor)) {
      // A key never reaches further than the key that created it.
      if (actor.keyProjectId && actor.keyProjectId !== data.projectId) {
        throw forbidden('A key bound to a project can only create keys bound to the same project.');
      }
      if (actor.keyRole && !canGrantRole(actor.keyRole, data.role ?? actor.keyRole)) {
        throw forbidden(`Your key's role (${actor.keyRole}) cannot create a key with more rights.`);
      }
      if (actor.keyRole && !data.role) data.role = actor.keyRole;
    }
    // A key limited to addresses makes keys limited as much: its list by default, or one within it.
    if (actor?.allowedCidrs) {
      if (!data.allowedCidrs?.length) data.allowedCidrs = [...actor.allowedCidrs];
      else refuseWiderAllowlist(actor, data.allowedCidrs);
    }
    const secret = fixedKey ? describeApiKey(fixedKey) : generateApiKey();
    const apiKey = await txRepo.createKey({
      ...data,
      allowedCidrs: data.allowedCidrs ?? [],
      hash: secret.hash,
      prefix: secret.prefix,
    });
    return { apiKey, key: secret.key };
  }

  /**
   * A new secret for the key (same id, user, project, role, allowlist), shown once; the old one
   * keeps working for `overlapSeconds` (default 0: not at all), then is refused like any unknown
   * key. A second rotation ends the first one's overlap. Every process forgets the key's cached
   * principals (pub/sub), so a secret rotated out with no overlap is refused everywhere at once.
   */
  async function rotateApiKey(
    actor: Principal | null,
    id: string,
    input: z.input<typeof rotateKeyInput>,
    within?: Within,
  ) {
    const { overlapSeconds } = parseInput(rotateKeyInput, input);
    const key = await repo.findKey(id);
    if (!key) throw notFound('API key');
    // Its new secret would be a key usable from addresses the caller's own key is not.
    if (actor?.allowedCidrs) refuseWiderAllowlist(actor, key.allowedCidrs);
    if (key.revokedAt) throw badInput('A revoked key cannot be rotated.', ['input', 'id']);
    const overlap = overlapSeconds ?? 0;
    const until = overlap > 0 ? new Date(deps.clock.now().getTime() + overlap * 1000) : null;
    const secret = generateApiKey();
    await inTransaction(async (tx) => {
      if (!(await createAuthRepo(tx).rotateKey(key.id, key.hash, secret, until)))
        throw badInput('The key was rotated or revoked meanwhile; read it again.', ['input', 'id']);
    }, within);
    keys.delete(key.hash);
    accessChanged(key.userId);
    return { apiKey: (await repo.findKey(key.id))!, key: secret.key };
  }

  /** Changes a key's name or address allowlist (fields left out stay as they are). */
  async function updateApiKey(
    actor: Principal | null,
    id: string,
    input: z.input<typeof updateKeyInput>,
    within?: Within,
  ) {
    const data = parseInput(updateKeyInput, input);
    if (actor?.allowedCidrs && input.allowedCidrs !== undefined)
      refuseWiderAllowlist(actor, data.allowedCidrs ?? []);
    const changes: { name?: string | null; allowedCidrs?: string[] } = {};
    if (input.name !== undefined) changes.name = data.name ?? null;
    if (input.allowedCidrs !== undefined) changes.allowedCidrs = data.allowedCidrs ?? [];
    const apiKey = await inTransaction((tx) => createAuthRepo(tx).updateKey(id, changes), within);
    if (changes.allowedCidrs) accessChanged(apiKey.userId);
    return apiKey;
  }

  async function revokeApiKey(id: string, within?: Within) {
    const key = await repo.findKey(id);
    if (!key) throw notFound('API key');
    const revoked = key.revokedAt
      ? key
      : await inTransaction((tx) => createAuthRepo(tx).revokeKey(id, deps.clock.now()), within);
    keys.delete(key.hash);
    deps.pubsub.publish(topics.keyRevoked, { keyId: key.id });
    return revoked;
  }

  async function setUserTier(userId: string, tier: Tier, within?: Within) {
    if (!(await repo.findUser(userId))) throw notFound('User');
    const user = await inTransaction((tx) => createAuthRepo(tx).setTier(userId, tier), within);
    accessChanged(userId);
    return user;
  }

  // Projects seen to exist, for instance admins' requests (no membership vouches for them). A yes
  // holds until deleteProject, which drops it here in every process (projectDeleted); a no is asked
  // again (the project may be created).
  const existingProjects = new LRUCache<string, true>({ max: 10_000 });
  deps.pubsub.listen<{ projectId: string }>(topics.projectDeleted, ({ projectId }) => {
    existingProjects.delete(projectId);
    keys.clear();
  });

  /**
   * After a project's or user's deletion committed, with the keys it revoked and the users whose
   * memberships it removed: every process forgets them at once (their streams end or are
   * rechecked), and a deleted project is gone for instance admins too.
   */
  function deletionCommitted(change: {
    keyIds: readonly string[];
    userIds: readonly string[];
    projectId?: string;
  }) {
    keys.clear();
    if (change.projectId) {
      existingProjects.delete(change.projectId);
      deps.pubsub.publish(topics.projectDeleted, { projectId: change.projectId });
    }
    for (const keyId of change.keyIds) deps.pubsub.publish(topics.keyRevoked, { keyId });
    for (const userId of change.userIds) accessChanged(userId);
  }
  async function projectExists(id: string): Promise<boolean> {
    if (existingProjects.has(id)) return true;
    const found = await repo.projectExists(id);
    if (found) existingProjects.set(id, true);
    return found;
  }

  return {
    authenticate,
    projectExists,
    /** The key's principal as stored now (not cached), or null when it is revoked: open streams are rechecked with it. */
    principalOfKey: (keyId: string) => loadPrincipal({ id: keyId }),
    /** The principal of a secret's hash as stored now, or null when it is revoked or rotated out. */
    principalOfSecret: (hash: string) => loadPrincipal({ hash }),
    createUser,
    createApiKey,
    rotateApiKey,
    updateApiKey,
    revokeApiKey,
    setUserTier,
    accessChanged,
    deletionCommitted,
    repo,
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
