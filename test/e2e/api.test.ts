import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../lib/core/db.js';
import { MAX_BODY_BYTES } from '../../functions/http.js';
import { type Member, addMember, otherOrg } from '../support/db.js';
import { lseErrors, lseListErrors } from '../support/lse-schema.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;
const members: Record<string, Member> = {};

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  for (const role of ['AD', 'MA', 'RE', 'AN'] as const) members[role] = await addMember(db, 1, role, `${role.toLowerCase()}@example.com`);
});
afterAll(() => roster?.stop());

describe('authentication', () => {
  it('answers whoami for the bootstrap Owner with role OW, permissions and LSE\'s shape', async () => {
    const r = await call('GET', '/api/current-user/whoami', { token: OWNER_TOKEN });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: 1, email: 'owner@example.com', active_organization: 1, organization_membership: { role: 'OW', active: true } });
    expect(r.body.permissions).toContain('organization.roles.assign');
    expect(lseErrors('WhoAmIUser', r.body)).toEqual([]);
  });

  it.each([
    ['no header', {}],
    ['a wrong token', { authorization: 'Token nope' }],
    ['another scheme', { authorization: `Bearer ${OWNER_TOKEN}` }],
    ['an empty token', { authorization: 'Token ' }],
  ])('answers 401 with {"detail"} for %s', async (_, headers) => {
    const r = await call('GET', '/api/current-user/whoami', { headers });
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ detail: expect.any(String) });
  });

  it('refuses a member deactivated through the API on their very next request, and admits them once reactivated', async () => {
    const m = await addMember(db, 1, 'AN');
    expect((await call('GET', '/api/current-user/whoami', { token: m.token })).status).toBe(200);
    expect((await call('PATCH', '/api/organizations/1/memberships', { token: OWNER_TOKEN, body: { user_id: m.userId, role: 'DI' } })).status).toBe(200);
    expect(await call('GET', '/api/current-user/whoami', { token: m.token })).toMatchObject({ status: 401, body: { detail: 'User inactive or deleted.' } });
    expect((await call('PATCH', '/api/organizations/1/memberships', { token: OWNER_TOKEN, body: { user_id: m.userId, role: 'AN' } })).status).toBe(200);
    expect((await call('GET', '/api/current-user/whoami', { token: m.token })).status).toBe(200);
  });
});

describe('organizations', () => {
  it('lists the caller\'s organizations as LSE does', async () => {
    const r = await call('GET', '/api/organizations/', { token: OWNER_TOKEN });
    expect(r.status).toBe(200);
    expect(r.body.map((o: { id: number }) => o.id)).toEqual([1]);
    expect(lseListErrors('OrganizationId', r.body)).toEqual([]);
  });

  it('reads the organization, showing the invite token only to those who may invite', async () => {
    const r = await call('GET', '/api/organizations/1', { token: OWNER_TOKEN });
    expect(r.status).toBe(200);
    expect(lseErrors('LseOrganization', r.body)).toEqual([]);
    expect(r.body.token).toMatch(/^[0-9a-f]{40}$/);
    const an = await call('GET', '/api/organizations/1', { token: members.AN!.token });
    expect(an.status).toBe(200);
    expect(an.body.token).toBe('');
  });

  it('hides other organizations: 404, never their data', async () => {
    const other = await otherOrg(db, 'Secret Org');
    for (const path of [`/api/organizations/${other.orgId}`, `/api/organizations/${other.orgId}/memberships`]) {
      const r = await call('GET', path, { token: OWNER_TOKEN });
      expect(r.status).toBe(404);
      expect(JSON.stringify(r.body)).not.toContain('Secret Org');
    }
    const r = await call('PATCH', `/api/organizations/${other.orgId}/memberships`, { token: OWNER_TOKEN, body: { user_id: other.owner.userId, role: 'AN' } });
    expect(r.status).toBe(404);
    const theirs = await call('GET', '/api/organizations/', { token: other.owner.token });
    expect(theirs.body.map((o: { title: string }) => o.title)).toEqual(['Secret Org']);
  });

  it('answers 404 for ids that are not positive integers', async () => {
    for (const id of ['abc', '0', '-1', '1.5', '99999999999999999999']) {
      expect((await call('GET', `/api/organizations/${id}`, { token: OWNER_TOKEN })).status).toBe(404);
    }
  });
});

describe('memberships', () => {
  it('pages the member list with LSE\'s shape and absolute next/previous links that work', async () => {
    const first = await call('GET', '/api/organizations/1/memberships?page_size=2', { token: OWNER_TOKEN });
    expect(first.status).toBe(200);
    expect(lseErrors('PaginatedLseOrganizationMemberListList', first.body)).toEqual([]);
    expect(first.body.results).toHaveLength(2);
    expect(first.body.previous).toBeNull();
    expect(first.body.next).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/organizations\/1\/memberships\?page=2&page_size=2&cursor=/);
    const seen: number[] = first.body.results.map((m: { user: { id: number } }) => m.user.id);
    let next: string | null = first.body.next;
    while (next) {
      const page = await call('GET', next.slice(roster.url.length), { token: OWNER_TOKEN });
      expect(page.status).toBe(200);
      seen.push(...page.body.results.map((m: { user: { id: number } }) => m.user.id));
      next = page.body.next;
    }
    expect(seen).toHaveLength(first.body.count);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('lets Managers read members and refuses Reviewers and Annotators', async () => {
    expect((await call('GET', '/api/organizations/1/memberships', { token: members.MA!.token })).status).toBe(200);
    expect((await call('GET', '/api/organizations/1/memberships', { token: members.RE!.token })).status).toBe(403);
    expect((await call('GET', '/api/organizations/1/memberships', { token: members.AN!.token })).status).toBe(403);
  });

  it.each(['OW', 'AD'])('PATCH is allowed for %s', async (role) => {
    const target = await addMember(db, 1, 'AN');
    const token = role === 'OW' ? OWNER_TOKEN : members.AD!.token;
    const r = await call('PATCH', '/api/organizations/1/memberships', { token, body: { user_id: target.userId, role: 'RE' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ role: 'RE', role_source: 'api', user: { id: target.userId } });
    expect(lseErrors('LseOrganizationMemberList', r.body)).toEqual([]);
  });

  it.each(['MA', 'RE', 'AN'])('PATCH is refused with 403 for %s, and nothing changes', async (role) => {
    const target = await addMember(db, 1, 'AN');
    const r = await call('PATCH', '/api/organizations/1/memberships', { token: members[role]!.token, body: { user_id: target.userId, role: 'AD' } });
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ detail: expect.any(String) });
    const after = await call('GET', '/api/organizations/1/memberships?page_size=1000', { token: OWNER_TOKEN });
    expect(after.body.results.find((m: { user: { id: number } }) => m.user.id === target.userId).role).toBe('AN');
  });

  it('refuses demoting or deactivating the only Owner with 409', async () => {
    for (const role of ['AD', 'DI']) {
      const r = await call('PATCH', '/api/organizations/1/memberships', { token: members.AD!.token, body: { user_id: 1, role } });
      expect(r.status).toBe(409);
      expect(r.body.detail).toMatch(/Owner/);
    }
  });

  it('leaves exactly one Owner after 20 concurrent conflicting role changes over HTTP', async () => {
    const admins = await Promise.all(Array.from({ length: 5 }, () => addMember(db, 1, 'AD')));
    const requests = Array.from({ length: 20 }, (_, i) => {
      const actor = admins[i % 5]!;
      const body = [
        { user_id: 1, role: 'AD' },
        { user_id: admins[(i + 1) % 5]!.userId, role: 'OW' },
        { user_id: 1, role: 'DI' },
        { user_id: admins[(i + 2) % 5]!.userId, role: 'AN' },
      ][i % 4];
      return call('PATCH', '/api/organizations/1/memberships', { token: actor.token, body });
    });
    const replies = await Promise.all(requests);
    for (const r of replies) expect([200, 401, 403, 409]).toContain(r.status);
    const list = await call('GET', '/api/organizations/1/memberships?page_size=1000', { token: OWNER_TOKEN });
    const owners = list.body.results.filter((m: { role: string }) => m.role === 'OW');
    expect(owners.map((m: { user: { id: number } }) => m.user.id)).toEqual([1]);
  });
});

describe('creating users', () => {
  it('creates a user with the organization default role (201, LSE shape)', async () => {
    const r = await call('POST', '/api/users/', { token: OWNER_TOKEN, body: { email: 'Fresh@Example.com', username: 'fresh', first_name: 'Fre', last_name: 'Sh' } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ email: 'fresh@example.com', username: 'fresh', initials: 'fs', organization_membership: { role: 'AN', organization_id: 1 } });
    expect(lseErrors('LseUser', r.body)).toEqual([]);
    const dup = await call('POST', '/api/users/', { token: members.AD!.token, body: { email: 'FRESH@example.com' } });
    expect(dup.status).toBe(409);
    expect(dup.body.validation_errors.email).toHaveLength(1);
  });

  it.each(['MA', 'RE', 'AN'])('refuses %s with 403', async (role) => {
    expect((await call('POST', '/api/users/', { token: members[role]!.token, body: { email: `by-${role}@example.com` } })).status).toBe(403);
  });
});

describe('bad input', () => {
  const patch = (raw: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    call('PATCH', '/api/organizations/1/memberships', { token: OWNER_TOKEN, raw, headers });

  it.each([
    ['malformed JSON', '{"user_id": 2, "role": '],
    ['an empty body', ''],
    ['a JSON array', '[1, 2]'],
    ['a string user_id', '{"user_id": "2", "role": "AN"}'],
    ['a fractional user_id', '{"user_id": 2.5, "role": "AN"}'],
    ['an unknown role', '{"user_id": 2, "role": "XX"}'],
    ['a lower-case role', '{"user_id": 2, "role": "an"}'],
    ['a missing role', '{"user_id": 2}'],
    ['null', 'null'],
  ])('answers 400 with {"detail"} for %s', async (_, raw) => {
    const r = await patch(raw);
    expect(r.status).toBe(400);
    expect(typeof r.body.detail).toBe('string');
  });

  it('names the offending fields as LSE does', async () => {
    const r = await patch('{"user_id": "x", "role": "XX"}');
    expect(Object.keys(r.body.validation_errors).sort()).toEqual(['role', 'user_id']);
  });

  it('answers 413 for an oversized body and 415 for a body that is not JSON', async () => {
    const big = JSON.stringify({ user_id: 2, role: 'AN', pad: 'x'.repeat(MAX_BODY_BYTES) });
    expect((await patch(big)).status).toBe(413);
    expect((await patch('user_id=2&role=AN', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
  });

  it('rejects bad user input without writing anything', async () => {
    const before = (await call('GET', '/api/organizations/1/memberships?page_size=1000', { token: OWNER_TOKEN })).body.count;
    for (const body of [{ email: 'not-an-email' }, { email: 'ok@example.com', first_name: 'x'.repeat(300) }, { email: 'pw@example.com', password: 'secret' }, {}]) {
      const r = await call('POST', '/api/users/', { token: OWNER_TOKEN, body });
      expect(r.status).toBe(400);
    }
    expect((await call('GET', '/api/organizations/1/memberships?page_size=1000', { token: OWNER_TOKEN })).body.count).toBe(before);
  });

  it('answers 400 for a bad page size or cursor, and LSE\'s 404 "Invalid page." for a page number that is not one', async () => {
    for (const q of ['page_size=0', 'page_size=5000', 'cursor=garbage&page=2']) {
      expect((await call('GET', `/api/organizations/1/memberships?${q}`, { token: OWNER_TOKEN })).status).toBe(400);
    }
    for (const q of ['page=0', 'page=x', 'page=999999999']) {
      expect(await call('GET', `/api/organizations/1/memberships?${q}`, { token: OWNER_TOKEN })).toMatchObject({ status: 404, body: { detail: 'Invalid page.' } });
    }
  });
});

describe('routing', () => {
  it('matches LSE paths with or without their trailing slash, as API Gateway does', async () => {
    expect((await call('GET', '/api/organizations', { token: OWNER_TOKEN })).status).toBe(200);
    expect((await call('GET', '/api/organizations/1/', { token: OWNER_TOKEN })).status).toBe(200);
  });

  it('answers 404 for unknown paths and 405 for a known path with another method', async () => {
    expect(await call('GET', '/api/nothing-here', { token: OWNER_TOKEN })).toMatchObject({ status: 404, body: { detail: 'Not found.' } });
    expect(await call('DELETE', '/api/organizations/1', { token: OWNER_TOKEN })).toMatchObject({ status: 405, body: { detail: 'Method "DELETE" not allowed.' } });
  });

  it('logs one line per request with its DynamoDB calls and sequential round trips', async () => {
    // A token Roster issued names its membership: the caller, the user and the memberships Query in one round trip.
    await call('GET', '/api/current-user/whoami', { token: members.AN!.token });
    expect(roster.lines.at(-1)).toMatch(/^GET \/api\/current-user\/whoami 200 \d+ms db=2\/1$/);
    // A token of the form a script chooses (the bootstrap token) is found through its lookup first.
    await call('GET', '/api/current-user/whoami', { token: OWNER_TOKEN });
    expect(roster.lines.at(-1)).toMatch(/^GET \/api\/current-user\/whoami 200 \d+ms db=3\/2$/);
  });
});
