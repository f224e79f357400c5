import {
  accessKey,
  can,
  canGrantRole,
  canManageKey,
  effectiveRole,
  isInstanceAdmin,
  visibleProjects,
  type Principal,
} from './permissions';

const principal = (over: Partial<Principal> = {}): Principal => ({
  userId: 'u1',
  email: 'u@x',
  isAdmin: false,
  tier: 'FREE',
  keyId: 'k1',
  keyProjectId: null,
  keyRole: null,
  memberships: new Map([
    ['p1', 'ADMIN'],
    ['p2', 'VIEWER'],
    ['p3', 'BILLING'],
  ]),
  ...over,
});

describe('permissions', () => {
  it('gives each role its actions, and nothing in projects without membership', () => {
    const p = principal();
    expect(
      ['view', 'read', 'write', 'costs', 'manage'].every((a) => can(p, 'p1', a as never)),
    ).toBe(true);
    expect([can(p, 'p2', 'read'), can(p, 'p2', 'write'), can(p, 'p2', 'costs')]).toEqual([
      true,
      false,
      false,
    ]);
    expect([can(p, 'p3', 'view'), can(p, 'p3', 'read'), can(p, 'p3', 'costs')]).toEqual([
      true,
      false,
      true,
    ]);
    expect(can(p, 'p4', 'view')).toBe(false);
    expect(can(null, 'p1', 'view')).toBe(false);
  });

  it('narrows by the key: its project and its role', () => {
    const bound = principal({ keyProjectId: 'p2' });
    expect(can(bound, 'p1', 'view')).toBe(false);
    expect(visibleProjects(bound)).toEqual(['p2']);
    const billingKey = principal({ keyRole: 'BILLING' });
    expect([
      can(billingKey, 'p1', 'costs'),
      can(billingKey, 'p1', 'read'),
      can(billingKey, 'p2', 'costs'),
    ]).toEqual([true, false, false]);
    expect(effectiveRole(billingKey, 'p1')).toBe('BILLING');
    expect(effectiveRole(principal({ keyRole: 'ADMIN' }), 'p2')).toBe('VIEWER');
  });

  it('makes instance admins ADMIN everywhere, unless their key is bound or narrowed', () => {
    const admin = principal({ isAdmin: true, memberships: new Map() });
    expect(can(admin, 'any', 'manage')).toBe(true);
    expect(isInstanceAdmin(admin)).toBe(true);
    expect(visibleProjects(admin)).toBe('all');
    expect(isInstanceAdmin(principal({ isAdmin: true, keyProjectId: 'p1' }))).toBe(false);
    expect(isInstanceAdmin(principal({ isAdmin: true, keyRole: 'VIEWER' }))).toBe(false);
  });

  it('grants a role only within the grantor role', () => {
    expect(canGrantRole('ADMIN', 'BILLING')).toBe(true);
    expect(canGrantRole('DEVELOPER', 'VIEWER')).toBe(true);
    expect(canGrantRole('VIEWER', 'DEVELOPER')).toBe(false);
    expect(canGrantRole('BILLING', 'VIEWER')).toBe(false);
    // Feedback is a writer's right: a reader cannot mint a key that writes.
    expect(canGrantRole('DEVELOPER', 'FEEDBACK')).toBe(true);
    expect(canGrantRole('VIEWER', 'FEEDBACK')).toBe(false);
    expect(canGrantRole('BILLING', 'FEEDBACK')).toBe(false);
  });

  it('lets a FEEDBACK key send feedback and not even see its project', () => {
    const key = principal({ keyRole: 'FEEDBACK', keyProjectId: 'p1' });
    expect(can(key, 'p1', 'feedback')).toBe(true);
    expect(can(key, 'p1', 'view')).toBe(false);
    expect(can(key, 'p1', 'read')).toBe(false);
    expect(can(key, 'p2', 'feedback')).toBe(false);
  });
  it('reaches a key only within the bound project: own keys, instance admin, or the managed project', () => {
    const p = principal();
    const key = (
      userId: string,
      projectId: string | null,
      role: 'ADMIN' | 'VIEWER' | null = null,
    ) => ({ userId, projectId, role });
    expect(canManageKey(p, key('u1', null))).toBe(true);
    expect(canManageKey(p, key('u2', 'p1'))).toBe(true);
    expect(canManageKey(p, key('u2', 'p2'))).toBe(false);
    expect(canManageKey(p, key('u2', null))).toBe(false);
    const bound = principal({ keyProjectId: 'p2' });
    expect(canManageKey(bound, key('u1', 'p1'))).toBe(false);
    expect(canManageKey(bound, key('u1', null))).toBe(false);
    expect(canManageKey(bound, key('u1', 'p2'))).toBe(true);
    const narrow = principal({ keyRole: 'VIEWER' });
    expect([
      canManageKey(narrow, key('u1', null)),
      canManageKey(narrow, key('u1', null, 'ADMIN')),
      canManageKey(narrow, key('u1', null, 'VIEWER')),
    ]).toEqual([false, false, true]);
    expect(canManageKey(principal({ keyRole: 'ADMIN' }), key('u1', null))).toBe(true);
    expect(
      canManageKey(principal({ isAdmin: true, memberships: new Map() }), key('u9', null)),
    ).toBe(true);
    expect(canManageKey(null, key('u1', null))).toBe(false);
  });
});

describe('accessKey', () => {
  it('is equal only for principals every check answers alike', () => {
    expect(accessKey(principal())).toBe(accessKey(principal()));
    // The same memberships read in another order.
    const reordered = new Map([...principal().memberships].reverse());
    expect(accessKey(principal({ memberships: reordered }))).toBe(accessKey(principal()));
    for (const other of [
      principal({ memberships: new Map([...principal().memberships, ['p1', 'VIEWER']]) }),
      principal({ memberships: new Map([['p1', 'ADMIN']]) }),
      principal({ isAdmin: true }),
      principal({ keyRole: 'VIEWER' }),
      principal({ keyProjectId: 'p1' }),
      principal({ keyId: 'k2' }),
    ])
      expect(accessKey(other)).not.toBe(accessKey(principal()));
  });
});
