// Who may do what in a project. Roles are not a ladder (BILLING sees costs but not traces),
// so each role is the set of actions it allows, and a key's role can only narrow its user's.
import type { User } from '../../generated/prisma/client';
import type { Role, Tier } from '../../generated/prisma/enums';

export type Action =
  /** see the project itself (name, own membership) */
  | 'view'
  /** read traces, evaluations, datasets, alert rules, webhooks */
  | 'read'
  /** write traces, evaluations, alert rules, webhooks */
  | 'write'
  /** read costs, usage and limits */
  | 'costs'
  /** manage members and keys of the project */
  | 'manage'
  /** create end-user feedback (scores with source FEEDBACK) */
  | 'feedback';

export const ROLE_ACTIONS: Record<Role, readonly Action[]> = {
  ADMIN: ['view', 'read', 'write', 'costs', 'manage', 'feedback'],
  DEVELOPER: ['view', 'read', 'write', 'feedback'],
  VIEWER: ['view', 'read'],
  BILLING: ['view', 'costs'],
  // Not even 'view': every other field answers as for a project it cannot see.
  FEEDBACK: ['feedback'],
};

/** Key roles confined to some root mutation fields (plugins/use-key-role-fields.ts); others: none. */
export const KEY_ROLE_FIELDS: Partial<Record<Role, ReadonlySet<string>>> = {
  FEEDBACK: new Set(['createScore', 'createScores']),
};

export interface Principal {
  /** The user's row as read when the key was checked (at most a few seconds old). */
  user?: User;
  userId: string;
  email: string;
  /** Instance administrator: ADMIN in every project, manages users and tiers. */
  isAdmin: boolean;
  tier: Tier;
  keyId: string;
  /** A key bound to a project reaches no other. */
  keyProjectId: string | null;
  /** A key with a role never exceeds it. */
  keyRole: Role | null;
  /** projectId → the user's membership role. */
  memberships: Map<string, Role>;
  /** Whether the key may be used from an address (its allowlist); absent: from any. */
  addressAllowed?: (address: string | undefined) => boolean;
  /** The key's allowlist (canonical CIDRs), when it has one: keys it makes or changes stay within it. */
  allowedCidrs?: readonly string[];
  /**
   * The hash of the secret it was authenticated with (absent when read by the key's id): a stream
   * opened with a secret that a rotation replaced ends when that secret stops working.
   */
  secretHash?: string;
}

/**
 * The key and everything it was allowed when the principal was read: equal for two principals
 * only if every authorization check answers them alike. Subscription results are shared by it (a
 * stream opened before the user's role changed keeps its principal, and must not compute answers
 * for one opened after). Made once per principal (principals are not changed once read; a change
 * of access reads a new one), since the response cache asks it of every request.
 */
export function accessKey(p: Principal): string {
  let key = accessKeys.get(p);
  if (key === undefined) {
    key = `${p.keyId}|${p.isAdmin}|${p.keyProjectId}|${p.keyRole}|${[...p.memberships].sort().join(';')}`;
    accessKeys.set(p, key);
  }
  return key;
}
const accessKeys = new WeakMap<Principal, string>();

/** The user's own role in a project, before the key narrows it. */
function baseRole(principal: Principal, projectId: string): Role | null {
  if (principal.keyProjectId && principal.keyProjectId !== projectId) return null;
  return principal.isAdmin ? 'ADMIN' : (principal.memberships.get(projectId) ?? null);
}

export function can(principal: Principal | null, projectId: string, action: Action): boolean {
  if (!principal) return false;
  const role = baseRole(principal, projectId);
  if (!role || !ROLE_ACTIONS[role].includes(action)) return false;
  return principal.keyRole === null || ROLE_ACTIONS[principal.keyRole].includes(action);
}

/** The role shown for the principal in a project: the key's role when it narrows the user's. */
export function effectiveRole(principal: Principal, projectId: string): Role | null {
  const role = baseRole(principal, projectId);
  if (!role || !principal.keyRole || principal.keyRole === role) return role;
  const narrower = ROLE_ACTIONS[principal.keyRole].every((a) => ROLE_ACTIONS[role].includes(a));
  return narrower ? principal.keyRole : role;
}

/**
 * The principal confined to some of its projects: a document trusted because those projects
 * registered it runs in them only (with PERSISTED_QUERY_ONLY, another project's allow-list must
 * not be widened by the caller's membership in this one).
 */
export function confinedTo(principal: Principal, projectIds: readonly string[]): Principal {
  return {
    ...principal,
    isAdmin: false,
    memberships: new Map([...principal.memberships].filter(([id]) => projectIds.includes(id))),
  };
}

/** Instance administration (users, tiers, projects) needs an unbound, unnarrowed admin key. */
export function isInstanceAdmin(principal: Principal | null): boolean {
  return (
    !!principal?.isAdmin &&
    principal.keyProjectId === null &&
    (principal.keyRole === null || principal.keyRole === 'ADMIN')
  );
}

/** Project ids the principal can see; 'all' for an instance admin with an unbound key. */
export function visibleProjects(principal: Principal): string[] | 'all' {
  if (principal.keyProjectId)
    return baseRole(principal, principal.keyProjectId) ? [principal.keyProjectId] : [];
  return principal.isAdmin ? 'all' : [...principal.memberships.keys()];
}

/**
 * Whether the principal may see and revoke an API key: keys bound to the principal's own key's
 * project only (when bound), and of those its own, any key for an instance admin, or the keys bound
 * to a project it manages. A key of another user that is not bound to a managed project is out of
 * reach even for that user's project admins.
 */
export function canManageKey(
  principal: Principal | null,
  key: { userId: string; projectId: string | null; role: Role | null },
): boolean {
  if (!principal) return false;
  if (principal.keyProjectId && key.projectId !== principal.keyProjectId) return false;
  // A key narrowed to a role reaches only keys narrowed within it: a leaked VIEWER key cannot
  // revoke its user's full keys.
  // (An ADMIN-role key narrows nothing.)
  if (
    principal.keyRole &&
    principal.keyRole !== 'ADMIN' &&
    (key.role === null || !canGrantRole(principal.keyRole, key.role))
  )
    return false;
  if (key.userId === principal.userId || isInstanceAdmin(principal)) return true;
  return key.projectId !== null && can(principal, key.projectId, 'manage');
}

/** A key may be created with a role only within its creator's reach in that project. */
export function canGrantRole(grantorRole: Role, role: Role): boolean {
  return ROLE_ACTIONS[role].every((action) => ROLE_ACTIONS[grantorRole].includes(action));
}

/** The auth scope of a row of a project: the principal must be allowed `action` in its project. */
export const projectScope = (action: Action) => (row: { projectId: string }) => ({
  project: { id: row.projectId, action },
});
