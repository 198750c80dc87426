import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../lib/core/db.js';
import { type Member, addMember, otherOrg } from '../support/db.js';
import { lseErrors } from '../support/lse-schema.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;
let admin: Member;

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  admin = await addMember(db, 1, 'AD', 'admin@example.com');
});
afterAll(() => roster?.stop());

const members = async (query = '') => (await call('GET', `/api/organizations/1/memberships?page_size=1000${query}`, { token: OWNER_TOKEN })).body;
const ids = (page: { results: { user: { id: number } }[] }) => page.results.map((m) => m.user.id);

describe('member listing filters', () => {
  let ann: Member;
  let rev: Member;
  beforeAll(async () => {
    ann = await addMember(db, 1, 'AN', 'Ann.Filter@Example.com');
    rev = await addMember(db, 1, 'RE', 'rev.filter@example.com');
    await call('PATCH', `/api/users/${rev.userId}/`, { token: OWNER_TOKEN, body: { first_name: 'Zelda', last_name: 'Quartz' } });
  });

  it('filters by role (comma-separated, as LSE takes it)', async () => {
    const an = await members('&role=AN');
    expect(an.results.every((m: { role: string }) => m.role === 'AN')).toBe(true);
    expect(ids(an)).toContain(ann.userId);
    const both = await members('&role=AN,RE');
    expect(ids(both)).toEqual(expect.arrayContaining([ann.userId, rev.userId]));
    expect(both.count).toBe(both.results.length);
    expect((await call('GET', '/api/organizations/1/memberships?role=XX', { token: OWNER_TOKEN })).status).toBe(400);
  });

  it('searches email, names and username, case-insensitively, including after a rename', async () => {
    expect(ids(await members('&search=ANN.FILTER'))).toEqual([ann.userId]);
    expect(ids(await members('&search=quartz'))).toEqual([rev.userId]);
    expect(ids(await members('&search=zel'))).toEqual([rev.userId]);
    expect((await members('&search=nobody-has-this')).count).toBe(0);
  });

  it('orders by id either way', async () => {
    const up = ids(await members('&ordering=id'));
    const down = ids(await members('&ordering=-id'));
    expect(down).toEqual([...up].reverse());
    expect((await call('GET', '/api/organizations/1/memberships?ordering=email', { token: OWNER_TOKEN })).status).toBe(400);
  });

  it('filters by last activity range', async () => {
    const future = encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString());
    const past = encodeURIComponent('2000-01-01T00:00:00Z');
    expect((await members(`&user__last_activity__gte=${future}`)).count).toBe(0);
    expect((await members(`&user__last_activity__gte=${past}`)).count).toBe((await members()).count);
    expect((await call('GET', '/api/organizations/1/memberships?user__last_activity__lte=yesterday', { token: OWNER_TOKEN })).status).toBe(400);
  });

  it('keeps the filters in the next link', async () => {
    const page = (await call('GET', '/api/organizations/1/memberships?page_size=1&role=AN,RE', { token: OWNER_TOKEN })).body;
    expect(page.next).toContain('role=AN%2CRE');
    const second = (await call('GET', page.next.slice(roster.url.length), { token: OWNER_TOKEN })).body;
    expect(second.results.every((m: { role: string }) => ['AN', 'RE'].includes(m.role))).toBe(true);
  });
});

describe('soft delete', () => {
  it('ends access at once, keeps the member in history as deleted, and needs a new invitation to come back', async () => {
    const m = await addMember(db, 1, 'MA');
    expect((await call('GET', '/api/current-user/whoami', { token: m.token })).status).toBe(200);
    expect((await call('DELETE', `/api/organizations/1/memberships/${m.userId}/`, { token: admin.token })).status).toBe(204);
    expect((await call('GET', '/api/current-user/whoami', { token: m.token })).status).toBe(401);
    expect(ids(await members())).not.toContain(m.userId);
    expect(ids(await members('&is_deleted=true'))).toContain(m.userId);
    const detail = await call('GET', `/api/organizations/1/memberships/${m.userId}/`, { token: OWNER_TOKEN });
    expect(detail.status).toBe(200);
    expect(detail.body.deleted_at).toEqual(expect.any(String));
    expect(lseErrors('OrganizationMember', detail.body)).toEqual([]);
    // A role change cannot bring them back.
    expect((await call('PATCH', '/api/organizations/1/memberships', { token: OWNER_TOKEN, body: { user_id: m.userId, role: 'AN' } })).status).toBe(404);
    expect((await call('DELETE', `/api/organizations/1/memberships/${m.userId}/`, { token: OWNER_TOKEN })).status).toBe(404);
  });

  it('refuses deleting oneself (405, as LSE) and the Owner (409)', async () => {
    expect((await call('DELETE', `/api/organizations/1/memberships/${admin.userId}/`, { token: admin.token })).status).toBe(405);
    expect((await call('DELETE', '/api/organizations/1/memberships/1/', { token: admin.token })).status).toBe(409);
    expect((await call('DELETE', '/api/users/1/', { token: admin.token })).status).toBe(409);
  });
});

describe('organization settings', () => {
  it('sets the default role that new users get, never OW or DI', async () => {
    const r = await call('PATCH', '/api/organizations/1/set-default-role', { token: admin.token, body: { default_role: 'RE' } });
    expect(r).toMatchObject({ status: 200, body: { organization: 1, default_role: 'RE' } });
    const u = await call('POST', '/api/users/', { token: admin.token, body: { email: 'gets-re@example.com' } });
    expect(u.body.organization_membership.role).toBe('RE');
    for (const role of ['OW', 'DI', 'XX']) {
      expect((await call('PATCH', '/api/organizations/1/set-default-role', { token: admin.token, body: { default_role: role } })).status).toBe(400);
    }
    await call('PATCH', '/api/organizations/1/set-default-role', { token: admin.token, body: { default_role: 'AN' } });
  });

  it('updates title and contact, and validates them', async () => {
    const r = await call('PATCH', '/api/organizations/1', { token: admin.token, body: { title: 'Labelers Inc', contact_info: 'ops@labelers.example' } });
    expect(r).toMatchObject({ status: 200, body: { title: 'Labelers Inc', contact_info: 'ops@labelers.example' } });
    expect((await call('PATCH', '/api/organizations/1', { token: admin.token, body: { title: '' } })).status).toBe(400);
    expect((await call('PATCH', '/api/organizations/1', { token: admin.token, body: { contact_info: 'not mail' } })).status).toBe(400);
  });

  it('lets a member found an organization, which nobody else sees, unless the server switches it off', async () => {
    const m = await addMember(db, 1, 'AN');
    const created = await call('POST', '/api/organizations/', { token: m.token, body: { title: 'Side Project' } });
    expect(created.status).toBe(201);
    expect(lseErrors('OrganizationId', created.body)).toEqual([]);
    const mine = (await call('GET', '/api/organizations/', { token: m.token })).body.map((o: { title: string }) => o.title);
    expect(mine).toEqual(expect.arrayContaining(['Labelers Inc', 'Side Project']));
    const owners = (await call('GET', '/api/organizations/', { token: OWNER_TOKEN })).body.map((o: { title: string }) => o.title);
    expect(owners).not.toContain('Side Project');
    expect((await call('GET', `/api/organizations/${created.body.id}`, { token: OWNER_TOKEN })).status).toBe(404);
    process.env.ROSTER_ALLOW_ORGANIZATION_CREATION = 'false';
    try {
      expect((await call('POST', '/api/organizations/', { token: m.token, body: { title: 'Nope' } })).status).toBe(403);
    } finally {
      delete process.env.ROSTER_ALLOW_ORGANIZATION_CREATION;
    }
  });
});

describe('users', () => {
  it('lists only the members of the caller\'s organization', async () => {
    const other = await otherOrg(db, 'Elsewhere Ltd');
    const list = (await call('GET', '/api/users/', { token: OWNER_TOKEN })).body as { email: string }[];
    expect(list.map((u) => u.email)).toContain('admin@example.com');
    expect(list.map((u) => u.email)).not.toContain(other.owner.email);
    expect((await call('GET', `/api/users/${other.owner.userId}/`, { token: OWNER_TOKEN })).status).toBe(404);
    expect((await call('PATCH', `/api/users/${other.owner.userId}/`, { token: OWNER_TOKEN, body: { first_name: 'x' } })).status).toBe(404);
  });

  it('lets Administrators edit members but not the Owner, and everyone edit themselves', async () => {
    const m = await addMember(db, 1, 'AN');
    const r = await call('PATCH', `/api/users/${m.userId}/`, { token: admin.token, body: { first_name: 'Edited', phone: '+1 555' } });
    expect(r).toMatchObject({ status: 200, body: { first_name: 'Edited', phone: '+1 555' } });
    expect((await call('PATCH', '/api/users/1/', { token: admin.token, body: { first_name: 'Boss' } })).status).toBe(403);
    expect((await call('PATCH', '/api/current-user', { token: m.token, body: { last_name: 'Self' } })).body.last_name).toBe('Self');
    expect((await call('GET', `/api/users/${m.userId}/`, { token: OWNER_TOKEN })).body).toMatchObject({ first_name: 'Edited', last_name: 'Self' });
    // Email is not changeable; unknown fields are ignored, wrong types are not.
    expect((await call('PATCH', '/api/current-user', { token: m.token, body: { first_name: 42 } })).status).toBe(400);
  });

  it('switches the active organization only to one the user actively belongs to', async () => {
    const m = await addMember(db, 1, 'AN');
    const created = (await call('POST', '/api/organizations/', { token: m.token, body: { title: 'Mine' } })).body;
    const r = await call('PATCH', '/api/current-user', { token: m.token, body: { active_organization: created.id } });
    expect(r).toMatchObject({ status: 200, body: { active_organization: created.id } });
    const other = await otherOrg(db);
    const refused = await call('PATCH', '/api/current-user', { token: m.token, body: { active_organization: other.orgId } });
    expect(refused.status).toBe(400);
    expect(refused.body.validation_errors.active_organization).toHaveLength(1);
  });
});

describe('ownership transfer', () => {
  it('makes the target Owner and the old Owner Administrator, in one step', async () => {
    const next = await addMember(db, 1, 'MA');
    const r = await call('POST', '/api/organizations/1/transfer-ownership', { token: OWNER_TOKEN, body: { user_id: next.userId } });
    expect(r).toMatchObject({ status: 200, body: { role: 'OW', user: { id: next.userId } } });
    const roles = Object.fromEntries((await members()).results.map((m: { user: { id: number }; role: string }) => [m.user.id, m.role]));
    expect(roles[next.userId]).toBe('OW');
    expect(roles[1]).toBe('AD');
    expect(Object.values(roles).filter((x) => x === 'OW')).toHaveLength(1);
    // The former Owner can no longer transfer; the new one hands it back.
    expect((await call('POST', '/api/organizations/1/transfer-ownership', { token: OWNER_TOKEN, body: { user_id: next.userId } })).status).toBe(403);
    expect((await call('POST', '/api/organizations/1/transfer-ownership', { token: next.token, body: { user_id: 1 } })).status).toBe(200);
  });

  it('refuses a target that is inactive (409), deleted or unknown (404), or oneself (409)', async () => {
    const inactive = await addMember(db, 1, 'NO');
    expect((await call('POST', '/api/organizations/1/transfer-ownership', { token: OWNER_TOKEN, body: { user_id: inactive.userId } })).status).toBe(409);
    const gone = await addMember(db, 1, 'AN');
    await call('DELETE', `/api/organizations/1/memberships/${gone.userId}/`, { token: OWNER_TOKEN });
    expect((await call('POST', '/api/organizations/1/transfer-ownership', { token: OWNER_TOKEN, body: { user_id: gone.userId } })).status).toBe(404);
    expect((await call('POST', '/api/organizations/1/transfer-ownership', { token: OWNER_TOKEN, body: { user_id: 999999 } })).status).toBe(404);
    expect((await call('POST', '/api/organizations/1/transfer-ownership', { token: OWNER_TOKEN, body: { user_id: 1 } })).status).toBe(409);
    expect((await call('POST', '/api/organizations/1/transfer-ownership', { token: OWNER_TOKEN, body: { user_id: 'x' } })).status).toBe(400);
  });
});
