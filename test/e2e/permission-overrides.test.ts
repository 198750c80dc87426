import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../lib/core/db.js';
import { CONFIGURABLE_ACTIONS, defaultRolesOf } from '../../lib/core/permissions.js';
import { type Member, addMember, otherOrg } from '../support/db.js';
import { lseErrors } from '../support/lse-schema.js';
import { signIn } from '../support/cognito.js';
import { resetLegacyToken } from '../../lib/org/tokens.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;
const members: Record<string, Member> = {};

const MEMBERS_LIST = 'organization.members.list';
const base = (org: number | string = 1) => `/api/organizations/${org}/permissions`;

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  for (const role of ['AD', 'MA', 'RE', 'AN'] as const) members[role] = await addMember(db, 1, role, `po-${role.toLowerCase()}@example.com`);
});
afterAll(() => roster?.stop());

/** Every test starts from the matrix's defaults: reset whatever override a test left behind. */
afterEach(async () => {
  const r = await call('GET', base(), { token: OWNER_TOKEN });
  expect(r.status).toBe(200);
  for (const o of r.body as { permission: string }[]) {
    expect((await call('DELETE', `${base()}/${o.permission}`, { token: OWNER_TOKEN })).status).toBe(204);
  }
});

const restrict = (permission: string, roles: string[], token = OWNER_TOKEN) => call('POST', base(), { token, body: { permission, roles } });
const listMembers = (token: string) => call('GET', '/api/organizations/1/memberships', { token });

describe('configurable permissions: options', () => {
  it.each(['OW', 'AD'])('lists every configurable permission in LSE\'s ConfigurablePermissionOption shape for %s, defaults without the Owner', async (role) => {
    const token = role === 'OW' ? OWNER_TOKEN : members.AD!.token;
    const r = await call('GET', `${base()}/options`, { token });
    expect(r.status).toBe(200);
    expect(Array.isArray(r.body)).toBe(true);
    for (const item of r.body) {
      expect(lseErrors('ConfigurablePermissionOption', item), item.permission).toEqual([]);
      expect(item.default).not.toContain('OW');
      expect(item.options).not.toContain('OW');
      expect(item.default.length, item.permission).toBeGreaterThan(0);
    }
    expect(r.body.map((o: { permission: string }) => o.permission).sort()).toEqual([...CONFIGURABLE_ACTIONS].sort());
    const list = r.body.find((o: { permission: string }) => o.permission === MEMBERS_LIST);
    expect([...list.default].sort()).toEqual(['AD', 'MA']);
    const tokens = r.body.find((o: { permission: string }) => o.permission === 'tokens.own');
    expect([...tokens.default].sort()).toEqual(['AD', 'AN', 'MA', 'RE']);
  });

  it('never offers a permission only the Owner holds (nothing to restrict)', async () => {
    const r = await call('GET', `${base()}/options`, { token: OWNER_TOKEN });
    for (const item of r.body) expect(defaultRolesOf(item.permission).filter((x) => x !== 'OW')).toEqual(item.default);
    expect(r.body.map((o: { permission: string }) => o.permission)).not.toContain('organization.permissions.configure');
    expect(r.body.map((o: { permission: string }) => o.permission)).not.toContain('organization.transfer_ownership');
  });
});

describe('restricting a permission', () => {
  it('takes a Manager\'s member list away on the very next request, keeps it for Administrators and the Owner', async () => {
    expect((await listMembers(members.MA!.token)).status).toBe(200);
    const r = await restrict(MEMBERS_LIST, ['AD']);
    expect(r.status).toBe(200);
    expect(lseErrors('OrganizationPermission', r.body)).toEqual([]);
    expect(r.body).toMatchObject({ permission: MEMBERS_LIST, roles: ['AD'], organization: 1 });
    expect(r.body.default).not.toContain('OW');

    const ma = await listMembers(members.MA!.token);
    expect(ma.status).toBe(403);
    expect(ma.body).toEqual({ detail: expect.any(String) });
    expect((await listMembers(members.AD!.token)).status).toBe(200);
    expect((await listMembers(OWNER_TOKEN)).status).toBe(200);
  });

  it('removes the permission from the restricted Manager\'s whoami, and only from it', async () => {
    const before = await call('GET', '/api/current-user/whoami', { token: members.MA!.token });
    expect(before.body.permissions).toContain(MEMBERS_LIST);
    expect((await restrict(MEMBERS_LIST, ['AD'])).status).toBe(200);
    const ma = await call('GET', '/api/current-user/whoami', { token: members.MA!.token });
    expect(ma.status).toBe(200);
    expect(ma.body.permissions).not.toContain(MEMBERS_LIST);
    expect([...ma.body.permissions, MEMBERS_LIST].sort()).toEqual([...before.body.permissions].sort());
    expect((await call('GET', '/api/current-user/whoami', { token: members.AD!.token })).body.permissions).toContain(MEMBERS_LIST);
    expect((await call('GET', '/api/current-user/whoami', { token: OWNER_TOKEN })).body.permissions).toContain(MEMBERS_LIST);
  });

  it('applies the restriction to every way of listing or reading other members', async () => {
    expect((await restrict(MEMBERS_LIST, ['AD'])).status).toBe(200);
    const token = members.MA!.token;
    expect((await call('GET', '/api/users/', { token })).status).toBe(403);
    expect((await call('GET', `/api/users/${members.AN!.userId}/`, { token })).status).toBe(403);
    expect((await call('GET', `/api/organizations/1/memberships/${members.AN!.userId}/`, { token })).status).toBe(403);
    // Their own record stays readable.
    expect((await call('GET', `/api/organizations/1/memberships/${members.MA!.userId}/`, { token })).status).toBe(200);
  });

  it('never restricts the Owner, even with an empty list of roles', async () => {
    const r = await restrict(MEMBERS_LIST, []);
    expect(r.status).toBe(200);
    expect(r.body.roles).toEqual([]);
    expect((await listMembers(OWNER_TOKEN)).status).toBe(200);
    expect((await listMembers(members.AD!.token)).status).toBe(403);
    expect((await listMembers(members.MA!.token)).status).toBe(403);
  });

  it('restricting tokens.own to Administrators stops an Annotator using tokens at all, while their sign-in session works without token endpoints', async () => {
    const created = await call('POST', '/api/users/', { token: OWNER_TOKEN, body: { email: 'no-tokens@example.com', password: 'Str0ng-pass!' } });
    const an = { userId: created.body.id as number, token: await resetLegacyToken(db, 1, created.body.id) };
    const pat = (await call('POST', '/api/token/', { token: an.token })).body.token as string;
    expect((await restrict('tokens.own', ['AD'])).status).toBe(200);
    // Tokens stop working on the next request: legacy token, and the personal access token's refresh.
    const refused = await call('GET', '/api/current-user/whoami', { token: an.token });
    expect(refused).toMatchObject({ status: 401, body: { detail: expect.stringContaining('API tokens are not allowed') } });
    expect((await call('POST', '/api/token/refresh/', { body: { refresh: pat } })).status).toBe(401);
    // A Cognito session still signs in, without the token endpoints.
    const session = { authorization: `Bearer ${await signIn(roster.cognito, 'no-tokens@example.com', 'Str0ng-pass!')}` };
    const who = await call('GET', '/api/current-user/whoami', { headers: session });
    expect(who.status).toBe(200);
    expect(who.body.permissions).not.toContain('tokens.own');
    for (const [method, path] of [['POST', '/api/token/'], ['GET', '/api/token/'], ['GET', '/api/current-user/token'], ['POST', '/api/current-user/reset-token/']]) {
      expect((await call(method!, path!, { headers: session })).status).toBe(403);
    }
    // Administrators and the Owner keep theirs.
    expect((await call('POST', '/api/token/', { token: members.AD!.token })).status).toBe(201);
    expect((await call('POST', '/api/token/', { token: OWNER_TOKEN })).status).toBe(201);
    // Reset to the default: the same tokens work again.
    expect((await call('DELETE', `${base()}/tokens.own`, { token: OWNER_TOKEN })).status).toBe(204);
    expect((await call('GET', '/api/current-user/whoami', { token: an.token })).status).toBe(200);
    expect((await call('POST', '/api/token/refresh/', { body: { refresh: pat } })).status).toBe(200);
  });
});

describe('reading, changing and resetting an override', () => {
  it('lists the override, reads it by key, widens it with PATCH and PUT, and resets it with DELETE', async () => {
    expect((await restrict(MEMBERS_LIST, ['AD'])).status).toBe(200);

    const list = await call('GET', base(), { token: OWNER_TOKEN });
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(1);
    expect(list.body[0]).toMatchObject({ permission: MEMBERS_LIST, roles: ['AD'] });
    for (const item of list.body) expect(lseErrors('OrganizationPermission', item)).toEqual([]);
    const byAdmin = await call('GET', base(), { token: members.AD!.token });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body).toEqual(list.body);

    const one = await call('GET', `${base()}/${MEMBERS_LIST}`, { token: OWNER_TOKEN });
    expect(one.status).toBe(200);
    expect(lseErrors('OrganizationPermission', one.body)).toEqual([]);
    expect(one.body).toEqual(list.body[0]);

    for (const method of ['PATCH', 'PUT']) {
      expect((await restrict(MEMBERS_LIST, ['AD'])).status).toBe(200);
      expect((await listMembers(members.MA!.token)).status).toBe(403);
      const body = method === 'PUT' ? { permission: MEMBERS_LIST, roles: ['AD', 'MA'] } : { roles: ['AD', 'MA'] };
      const r = await call(method, `${base()}/${MEMBERS_LIST}`, { token: OWNER_TOKEN, body });
      expect(r.status, method).toBe(200);
      expect(lseErrors('OrganizationPermission', r.body)).toEqual([]);
      expect([...r.body.roles].sort()).toEqual(['AD', 'MA']);
      expect((await listMembers(members.MA!.token)).status, method).toBe(200);
      expect((await call('GET', `${base()}/${MEMBERS_LIST}`, { token: OWNER_TOKEN })).body.roles.sort()).toEqual(['AD', 'MA']);
    }

    expect((await restrict(MEMBERS_LIST, ['AD'])).status).toBe(200);
    const del = await call('DELETE', `${base()}/${MEMBERS_LIST}`, { token: OWNER_TOKEN });
    expect(del.status).toBe(204);
    expect(del.body).toBeUndefined();
    expect((await listMembers(members.MA!.token)).status).toBe(200);
    expect((await call('GET', base(), { token: OWNER_TOKEN })).body).toEqual([]);
    expect(await call('GET', `${base()}/${MEMBERS_LIST}`, { token: OWNER_TOKEN })).toMatchObject({ status: 404, body: { detail: expect.any(String) } });
    expect(await call('DELETE', `${base()}/${MEMBERS_LIST}`, { token: OWNER_TOKEN })).toMatchObject({ status: 404, body: { detail: expect.any(String) } });
  });

  it('answers 404 to PUT and PATCH of a configurable permission that has no override, and creates none', async () => {
    for (const method of ['PUT', 'PATCH']) {
      const r = await call(method, `${base()}/workspace.create`, { token: OWNER_TOKEN, body: { permission: 'workspace.create', roles: ['AD'] } });
      expect(r.status, method).toBe(404);
    }
    expect((await call('GET', base(), { token: OWNER_TOKEN })).body).toEqual([]);
    expect((await call('GET', '/api/current-user/whoami', { token: members.MA!.token })).body.permissions).toContain('workspace.create');
  });

  it('replaces an override when it is POSTed again, keeping one entry per permission', async () => {
    expect((await restrict(MEMBERS_LIST, ['AD'])).status).toBe(200);
    const again = await restrict(MEMBERS_LIST, ['MA', 'MA']);
    expect(again.status).toBe(200);
    expect(again.body.roles).toEqual(['MA']);
    const list = await call('GET', base(), { token: OWNER_TOKEN });
    expect(list.body).toHaveLength(1);
    expect(list.body[0].roles).toEqual(['MA']);
    expect((await listMembers(members.MA!.token)).status).toBe(200);
    expect((await listMembers(members.AD!.token)).status).toBe(403);
  });
});

describe('overrides restrict, never extend', () => {
  it.each([
    ['a role the default does not hold (AN)', ['AN']],
    ['the Owner', ['OW']],
    ['the Owner beside an allowed role', ['AD', 'OW']],
    ['an inactive role (DI)', ['DI']],
  ])('refuses %s with 400 and changes nothing', async (_, roles) => {
    const r = await restrict(MEMBERS_LIST, roles);
    expect(r.status).toBe(400);
    expect(typeof r.body.detail).toBe('string');
    expect(r.body.validation_errors.roles).toHaveLength(1);
    expect((await call('GET', base(), { token: OWNER_TOKEN })).body).toEqual([]);
    expect((await listMembers(members.AN!.token)).status).toBe(403);
  });

  it('refuses extending an existing override through PATCH and PUT with 400', async () => {
    expect((await restrict(MEMBERS_LIST, ['AD'])).status).toBe(200);
    for (const method of ['PATCH', 'PUT']) {
      const r = await call(method, `${base()}/${MEMBERS_LIST}`, { token: OWNER_TOKEN, body: { permission: MEMBERS_LIST, roles: ['AD', 'AN'] } });
      expect(r.status, method).toBe(400);
    }
    expect((await call('GET', `${base()}/${MEMBERS_LIST}`, { token: OWNER_TOKEN })).body.roles).toEqual(['AD']);
    expect((await listMembers(members.AN!.token)).status).toBe(403);
  });

  const UNKNOWN = 'no.such.permission';
  it('answers 404 for an unknown permission key on GET, PUT, PATCH and DELETE', async () => {
    expect((await call('GET', `${base()}/${UNKNOWN}`, { token: OWNER_TOKEN })).status).toBe(404);
    expect((await call('PUT', `${base()}/${UNKNOWN}`, { token: OWNER_TOKEN, body: { permission: UNKNOWN, roles: ['AD'] } })).status).toBe(404);
    expect((await call('PATCH', `${base()}/${UNKNOWN}`, { token: OWNER_TOKEN, body: { roles: ['AD'] } })).status).toBe(404);
    expect((await call('DELETE', `${base()}/${UNKNOWN}`, { token: OWNER_TOKEN })).status).toBe(404);
  });

  it('answers 404 (not 2xx, not 500) to POST of an unknown permission, and stores nothing', async () => {
    const r = await restrict(UNKNOWN, ['AD']);
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ detail: expect.any(String) });
    expect((await call('GET', base(), { token: OWNER_TOKEN })).body).toEqual([]);
  });

  it.each(['organization.read', 'organization.permissions.configure', 'organization.transfer_ownership'])(
    'treats %s, a matrix action that is not configurable, as unknown (404) on POST and GET',
    async (permission) => {
      expect((await restrict(permission, ['AD'])).status).toBe(404);
      expect((await call('GET', `${base()}/${permission}`, { token: OWNER_TOKEN })).status).toBe(404);
      expect((await call('GET', base(), { token: OWNER_TOKEN })).body).toEqual([]);
    },
  );
});

describe('who may configure', () => {
  it('refuses an Administrator\'s POST, PUT, PATCH and DELETE with 403 and changes nothing', async () => {
    const token = members.AD!.token;
    expect(await restrict(MEMBERS_LIST, ['AD'], token)).toMatchObject({ status: 403, body: { detail: expect.any(String) } });
    expect((await call('GET', base(), { token: OWNER_TOKEN })).body).toEqual([]);
    expect((await restrict(MEMBERS_LIST, ['AD'])).status).toBe(200);
    expect((await call('PUT', `${base()}/${MEMBERS_LIST}`, { token, body: { permission: MEMBERS_LIST, roles: ['AD', 'MA'] } })).status).toBe(403);
    expect((await call('PATCH', `${base()}/${MEMBERS_LIST}`, { token, body: { roles: ['AD', 'MA'] } })).status).toBe(403);
    expect((await call('DELETE', `${base()}/${MEMBERS_LIST}`, { token })).status).toBe(403);
    expect((await call('GET', `${base()}/${MEMBERS_LIST}`, { token: OWNER_TOKEN })).body.roles).toEqual(['AD']);
  });

  it.each(['MA', 'RE', 'AN'])('refuses %s reading overrides and options with 403', async (role) => {
    expect((await restrict(MEMBERS_LIST, ['AD', 'MA'])).status).toBe(200);
    const token = members[role]!.token;
    for (const path of [base(), `${base()}/options`, `${base()}/${MEMBERS_LIST}`]) {
      const r = await call('GET', path, { token });
      expect(r.status, path).toBe(403);
      expect(r.body).toEqual({ detail: expect.any(String) });
    }
  });

  it.each(['MA', 'RE', 'AN'])('refuses %s changing overrides with 403', async (role) => {
    const token = members[role]!.token;
    expect((await restrict('tokens.own', ['AD', 'MA', 'RE', 'AN'], token)).status).toBe(403);
    expect((await call('DELETE', `${base()}/tokens.own`, { token })).status).toBe(403);
  });

  it('answers 401 without credentials', async () => {
    expect((await call('GET', base())).status).toBe(401);
    expect((await call('POST', base(), { body: { permission: MEMBERS_LIST, roles: ['AD'] } })).status).toBe(401);
  });
});

describe('other organizations', () => {
  it('answers 404 for every permissions endpoint of an organization the caller is not in, without touching it', async () => {
    const other = await otherOrg(db, 'Perm Secret Org');
    expect((await call('POST', base(other.orgId), { token: other.owner.token, body: { permission: MEMBERS_LIST, roles: ['AD'] } })).status).toBe(200);
    const token = OWNER_TOKEN;
    const replies = [
      await call('GET', base(other.orgId), { token }),
      await call('GET', `${base(other.orgId)}/options`, { token }),
      await call('POST', base(other.orgId), { token, body: { permission: MEMBERS_LIST, roles: ['AD'] } }),
      await call('GET', `${base(other.orgId)}/${MEMBERS_LIST}`, { token }),
      await call('PUT', `${base(other.orgId)}/${MEMBERS_LIST}`, { token, body: { permission: MEMBERS_LIST, roles: ['AD', 'MA'] } }),
      await call('PATCH', `${base(other.orgId)}/${MEMBERS_LIST}`, { token, body: { roles: ['AD', 'MA'] } }),
      await call('DELETE', `${base(other.orgId)}/${MEMBERS_LIST}`, { token }),
    ];
    for (const r of replies) {
      expect(r.status).toBe(404);
      expect(JSON.stringify(r.body)).not.toContain('Perm Secret Org');
    }
    const theirs = await call('GET', `${base(other.orgId)}/${MEMBERS_LIST}`, { token: other.owner.token });
    expect(theirs.status).toBe(200);
    expect(theirs.body.roles).toEqual(['AD']);
  });

  it('keeps overrides per organization: another organization\'s restriction does not touch this one', async () => {
    const other = await otherOrg(db);
    expect((await call('POST', base(other.orgId), { token: other.owner.token, body: { permission: MEMBERS_LIST, roles: ['AD'] } })).status).toBe(200);
    expect((await listMembers(members.MA!.token)).status).toBe(200);
    expect((await call('GET', base(), { token: OWNER_TOKEN })).body).toEqual([]);
  });

  it('answers 404, not 500, when an organization that never had an override resets or reads one', async () => {
    const other = await otherOrg(db);
    const token = other.owner.token;
    expect(await call('DELETE', `${base(other.orgId)}/${MEMBERS_LIST}`, { token })).toMatchObject({ status: 404, body: { detail: expect.any(String) } });
    expect((await call('GET', `${base(other.orgId)}/${MEMBERS_LIST}`, { token })).status).toBe(404);
    expect((await call('PATCH', `${base(other.orgId)}/${MEMBERS_LIST}`, { token, body: { roles: ['AD'] } })).status).toBe(404);
    expect((await call('GET', base(other.orgId), { token })).body).toEqual([]);
  });
});

describe('bad bodies', () => {
  it.each([
    ['roles that are not a list', { permission: MEMBERS_LIST, roles: 'AD' }],
    ['roles that are an object', { permission: MEMBERS_LIST, roles: { AD: true } }],
    ['an unknown role code', { permission: MEMBERS_LIST, roles: ['XX'] }],
    ['a lower-case role code', { permission: MEMBERS_LIST, roles: ['ad'] }],
    ['a missing permission', { roles: ['AD'] }],
    ['an empty permission', { permission: '', roles: ['AD'] }],
    ['a numeric permission', { permission: 7, roles: ['AD'] }],
    ['a permission longer than 255 characters', { permission: 'x'.repeat(256), roles: ['AD'] }],
  ])('POST answers 400 with {"detail"} for %s, and stores nothing', async (_, body) => {
    const r = await call('POST', base(), { token: OWNER_TOKEN, body });
    expect(r.status).toBe(400);
    expect(typeof r.body.detail).toBe('string');
    expect((await call('GET', base(), { token: OWNER_TOKEN })).body).toEqual([]);
  });

  it.each([
    ['malformed JSON', '{"permission": '],
    ['a JSON array', '[]'],
    ['null', 'null'],
  ])('POST answers 400 with {"detail"} for %s', async (_, raw) => {
    const r = await call('POST', base(), { token: OWNER_TOKEN, raw, headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(400);
    expect(typeof r.body.detail).toBe('string');
  });

  it.each(['PUT', 'PATCH'])('%s answers 400 with {"detail"} for bad roles and for a permission that contradicts the path', async (method) => {
    expect((await restrict(MEMBERS_LIST, ['AD'])).status).toBe(200);
    for (const body of [{ permission: MEMBERS_LIST, roles: 'AD' }, { permission: MEMBERS_LIST, roles: ['XX'] }, { permission: 'tokens.own', roles: ['AD'] }]) {
      const r = await call(method, `${base()}/${MEMBERS_LIST}`, { token: OWNER_TOKEN, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(typeof r.body.detail).toBe('string');
    }
    expect((await call('GET', `${base()}/${MEMBERS_LIST}`, { token: OWNER_TOKEN })).body.roles).toEqual(['AD']);
    expect((await call('GET', `${base()}/tokens.own`, { token: OWNER_TOKEN })).status).toBe(404);
  });

  it('names the offending fields in validation_errors', async () => {
    const r = await call('POST', base(), { token: OWNER_TOKEN, body: { roles: ['XX'] } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body.validation_errors).some((k) => k.startsWith('roles'))).toBe(true);
    expect(Object.keys(r.body.validation_errors)).toContain('permission');
  });
});
