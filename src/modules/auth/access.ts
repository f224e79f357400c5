// The one access check every resolver goes through, by scope (`{ project: { id, action } }`, which
// the builder runs here) or by hand (`authorize`, `authorizeRow`, `authorizeId`). It does two things no resolver
// may forget: it records the project in the context (response cache tags, and what a mutation's
// success invalidates), and it answers a project the caller cannot see as NOT_FOUND, exactly as
// it answers one that does not exist, keeping FORBIDDEN for a caller who can see the thing but
// lacks the right.
import { createContextCache } from '@pothos/core';
import {
  AuthScopeFailureType,
  type AuthFailure,
  type ForbiddenResult,
} from '@pothos/plugin-scope-auth';
import type { Context } from '../../context';
import { forbidden, notFound, unauthenticated } from '../../errors';
import { ownerOf, type Owned } from './owner-sql';
import { can, type Action } from './permissions';

const DENIED = {
  costs: 'Costs need the BILLING or ADMIN role.',
  manage: 'Managing the project needs its ADMIN role.',
  write: 'Your role does not allow changes here.',
  read: 'Your role does not allow reading this.',
  view: 'Your role does not allow this.',
  feedback: 'Your role does not allow creating scores here.',
} satisfies Record<Action, string>;

/**
 * Whether the principal may do `action` in a project known to exist; records it when it can see
 * it or do `action` there (a FEEDBACK key sees nothing, yet its scores must drop the project's
 * cached answers).
 */
export function allows(
  ctx: Pick<Context, 'principal' | 'touchedProjects'>,
  projectId: string,
  action: Action,
): boolean {
  const allowed = can(ctx.principal, projectId, action);
  if (allowed || can(ctx.principal, projectId, 'view')) ctx.touchedProjects.add(projectId);
  return allowed;
}

// Per request: projects an instance admin named that do not exist (scopeRefusal answers them NOT_FOUND).
const missing = createContextCache((_ctx: object) => new Set<string>());

/**
 * Whether the principal may do `action` in the project, and the project exists. A membership
 * vouches for the project; an instance admin's rights do not, so for them it is looked up (a yes is
 * cached by the auth service), and a missing project is refused as a foreign one would be.
 */
export function allowsProject(
  ctx: Pick<Context, 'principal' | 'touchedProjects' | 'services'>,
  projectId: string,
  action: Action,
): boolean | Promise<boolean> {
  if (!allows(ctx, projectId, action)) return false;
  return standing(ctx, projectId);
}

/**
 * Whether a project the principal may see is there for it: a membership vouches for it; an
 * instance admin's rights do not (a deleted project's rows stay until its data job removes them).
 */
function standing(
  ctx: Pick<Context, 'principal' | 'services'>,
  projectId: string,
): boolean | Promise<boolean> {
  const principal = ctx.principal!;
  if (!principal.isAdmin || principal.memberships.has(projectId)) return true;
  return ctx.services.auth.projectExists(projectId).then((found) => {
    if (!found) missing(ctx).add(projectId);
    return found;
  });
}

/** Throws unless the principal may do `action` in the project: NOT_FOUND when it cannot see it. */
export async function authorize(
  ctx: Pick<Context, 'principal' | 'touchedProjects' | 'services'>,
  projectId: string,
  action: Action,
): Promise<void> {
  if (await allowsProject(ctx, projectId, action)) return;
  if (!ctx.principal) throw unauthenticated();
  if (!can(ctx.principal, projectId, 'view') || missing(ctx).has(projectId))
    throw notFound('Project');
  throw forbidden(DENIED[action]);
}

/**
 * A row of a project, for an `action` on it. A missing row, and one in a project the principal
 * cannot see, are both NOT_FOUND as `what`; one in its project without the right is FORBIDDEN.
 */
export async function authorizeRow<T extends { projectId: string }>(
  ctx: Pick<Context, 'principal' | 'touchedProjects' | 'services'>,
  row: T | null | undefined,
  action: Action,
  what: string,
  path: (string | number)[] = [],
): Promise<T> {
  if (!ctx.principal) throw unauthenticated();
  if (!row || !can(ctx.principal, row.projectId, 'view')) throw notFound(what, path);
  // The row exists, yet its project may be deleted (its rows not yet removed by its job).
  if (!(await standing(ctx, row.projectId))) throw notFound(what, path);
  if (!allows(ctx, row.projectId, action)) throw forbidden(DENIED[action]);
  return row;
}

/**
 * The project of the `type` row with this id, when the principal may do `action` on it; else
 * NOT_FOUND (missing, or in a project it cannot see) or FORBIDDEN, as `authorizeRow`.
 */
export async function authorizeId(
  ctx: Pick<Context, 'principal' | 'touchedProjects' | 'deps' | 'services'>,
  type: Owned,
  id: string,
  action: Action,
  path: (string | number)[] = [],
): Promise<string> {
  if (!ctx.principal) throw unauthenticated();
  const projectId = await ownerOf(ctx.deps.db.query, type, id);
  return (await authorizeRow(ctx, projectId === null ? null : { projectId }, action, type, path))
    .projectId;
}

function projectFailures(failure: AuthFailure): { id: string }[] {
  if (
    failure.kind === AuthScopeFailureType.AnyAuthScopes ||
    failure.kind === AuthScopeFailureType.AllAuthScopes
  )
    return failure.failures.flatMap(projectFailures);
  if (failure.kind === AuthScopeFailureType.AuthScope && failure.scope === 'project')
    return [failure.parameter as { id: string }];
  return [];
}

/** The error for a refused scope check (the builder's unauthorizedError). */
export function scopeRefusal(ctx: Pick<Context, 'principal'>, result: ForbiddenResult): Error {
  if (!ctx.principal) return unauthenticated();
  const hidden = projectFailures(result.failure).filter(
    ({ id }) => !can(ctx.principal, id, 'view') || missing(ctx).has(id),
  );
  // An object refused by its type: not there for the caller, unless it is in a project they see
  // (a BILLING member reading a trace), which is a missing right.
  const typeLevel = /^Not authorized to read fields for (\w+)/.exec(result.message);
  if (typeLevel && (hidden.length || !projectFailures(result.failure).length))
    return notFound(typeLevel[1]);
  if (hidden.length) return notFound('Project');
  return forbidden();
}
