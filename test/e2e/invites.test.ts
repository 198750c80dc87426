import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCognitoClient } from '../../infra/local/cognito.js';
import { createDb, type Db } from '../../lib/core/db.js';
import { keys } from '../../lib/core/table.js';
import { type Member, addMember, otherOrg } from '../support/db.js';
import { lseErrors } from '../support/lse-schema.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;
const members: Record<string, Member> = {};
const PASSWORD = 'Str0ng-pass!';

/** Every emailed invitation token seen: stored only as hashes. */
const emailed = new Set<string>();

let seq = 0;
/** A fresh address for each use, so tests never share invitations. */
const address = (tag: string) => `${tag}-${++seq}-${Date.now()}@example.com`;

const signup = (body: Record<string, unknown>, token?: string) => call('POST', '/api/invite/signup', { body, token });
const send = (body: Record<string, unknown>, token = OWNER_TOKEN) => call('POST', '/api/invite/send-email', { token, body });
const membership = (userId: number) => call('GET', `/api/organizations/1/memberships/${userId}/`, { token: OWNER_TOKEN });

/** The .eml files the outbox holds for one address. */
function mails(to: string): string[] {
  const dir = process.env.ROSTER_OUTBOX_DIR!;
  if (!existsSync(dir)) return [];
  const safe = to.replace(/[^a-z0-9@._-]/gi, '_');
  return readdirSync(dir)
    .filter((f) => f.endsWith(`-${safe}.eml`))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'));
}

/** The invite token in the newest message to `to`. */
function emailedToken(to: string): string {
  const all = mails(to);
  expect(all.length).toBeGreaterThan(0);
  const m = /\/user\/signup\/\?token=([0-9a-f]+)/.exec(all.at(-1)!);
  expect(m).not.toBeNull();
  emailed.add(m![1]!);
  return m![1]!;
}

async function signIn(email: string, password = PASSWORD): Promise<string> {
  const cognito = localCognitoClient(roster.cognito.endpoint);
  try {
    const r = await cognito.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: roster.cognito.clientId, AuthParameters: { USERNAME: email, PASSWORD: password } }));
    return r.AuthenticationResult!.AccessToken!;
  } finally {
    cognito.destroy();
  }
}

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  for (const role of ['AD', 'MA', 'RE', 'AN'] as const) members[role] = await addMember(db, 1, role, `${role.toLowerCase()}@example.com`);
});
afterAll(() => roster?.stop());

describe('the organization invite link', () => {
  it.each(['OW', 'AD'])('is shown to %s as {invite_url, token} in LSE\'s shape, the URL ending in /user/signup/?token=<token>', async (role) => {
    const token = role === 'OW' ? OWNER_TOKEN : members.AD!.token;
    const r = await call('GET', '/api/invite', { token });
    expect(r.status).toBe(200);
    expect(lseErrors('OrganizationInvite', r.body)).toEqual([]);
    expect(r.body.token).toMatch(/^[0-9a-f]{40}$/);
    expect(r.body.invite_url).toMatch(/^https?:\/\/[^/]+\/user\/signup\/\?token=/);
    expect(r.body.invite_url.endsWith(`/user/signup/?token=${r.body.token}`)).toBe(true);
  });

  it.each(['MA', 'RE', 'AN'])('is refused to %s with 403, as are reset, send-email and revoke', async (role) => {
    const token = members[role]!.token;
    const before = (await call('GET', '/api/invite', { token: OWNER_TOKEN })).body.token;
    for (const [method, path, body] of [
      ['GET', '/api/invite', undefined],
      ['POST', '/api/invite/reset-token', undefined],
      ['POST', '/api/invite/send-email', { emails: [address('by-' + role)], role: 'AN' }],
      ['POST', '/api/invite/revoke', { email: 'nobody@example.com' }],
    ] as const) {
      const r = await call(method, path, { token, body });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.body).toEqual({ detail: expect.any(String) });
      expect(JSON.stringify(r.body)).not.toContain(before);
    }
    expect((await call('GET', '/api/invite', { token: OWNER_TOKEN })).body.token).toBe(before);
  });

  it('resets the link: 201 with a new token; the old one no longer signs anyone up, the new one does', async () => {
    const old = (await call('GET', '/api/invite', { token: OWNER_TOKEN })).body.token;
    const r = await call('POST', '/api/invite/reset-token', { token: members.AD!.token });
    expect(r.status).toBe(201);
    expect(r.body.token).toMatch(/^[0-9a-f]{40}$/);
    expect(r.body.token).not.toBe(old);
    expect(r.body.invite_url.endsWith(`/user/signup/?token=${r.body.token}`)).toBe(true);
    expect((await call('GET', '/api/invite', { token: OWNER_TOKEN })).body.token).toBe(r.body.token);
    const stale = await signup({ token: old, email: address('stale'), password: PASSWORD });
    expect(stale.status).toBe(404);
    expect(stale.body).toEqual({ detail: expect.any(String) });
    expect((await signup({ token: r.body.token, email: address('fresh-link'), password: PASSWORD })).status).toBe(201);
  });

  it('signs a new person up without credentials as Not Activated (role NO, role_source manual), who has no access until given a role', async () => {
    const { token } = (await call('GET', '/api/invite', { token: OWNER_TOKEN })).body;
    const email = address('link');
    const r = await signup({ token, email, password: PASSWORD, first_name: 'Linda' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ email, first_name: 'Linda' });
    const m = await membership(r.body.id);
    expect(m.status).toBe(200);
    expect(m.body).toMatchObject({ role: 'NO', role_source: 'manual' });

    const jwt = await signIn(email);
    expect((await call('GET', '/api/current-user/whoami', { headers: { authorization: `Bearer ${jwt}` } })).status).toBe(401);
    expect((await call('PATCH', '/api/organizations/1/memberships', { token: OWNER_TOKEN, body: { user_id: r.body.id, role: 'AN' } })).status).toBe(200);
    expect(await call('GET', '/api/current-user/whoami', { headers: { authorization: `Bearer ${jwt}` } })).toMatchObject({ status: 200, body: { id: r.body.id } });
  });

  it('lets the link be used by many people (it is not single use)', async () => {
    const { token } = (await call('GET', '/api/invite', { token: OWNER_TOKEN })).body;
    for (const tag of ['many-a', 'many-b']) expect((await signup({ token, email: address(tag) })).status).toBe(201);
  });
});

describe('emailed invitations', () => {
  it('sends one message per address with a link, and signing up with it gives the invited role; the token is single use', async () => {
    const [a, b] = [address('mail-a'), address('mail-b')];
    const r = await send({ emails: [a, b], role: 'RE' });
    expect(r.status).toBe(200);
    expect(r.body.sent).toEqual([a, b]);
    expect(r.body.skipped ?? []).toEqual([]);
    for (const to of [a, b]) {
      const [eml] = mails(to);
      expect(mails(to)).toHaveLength(1);
      expect(eml).toContain(`To: ${to}`);
      expect(eml).toMatch(/\/user\/signup\/\?token=[0-9a-f]{40}/);
    }
    const tokenA = emailedToken(a);
    expect(tokenA).not.toBe(emailedToken(b));

    const joined = await signup({ token: tokenA, email: a, password: PASSWORD, first_name: 'Ann' });
    expect(joined.status).toBe(201);
    expect((await membership(joined.body.id)).body).toMatchObject({ role: 'RE', role_source: 'manual' });
    const jwt = await signIn(a);
    expect(await call('GET', '/api/current-user/whoami', { headers: { authorization: `Bearer ${jwt}` } })).toMatchObject({
      status: 200,
      body: { id: joined.body.id, organization_membership: { role: 'RE' } },
    });

    const again = await signup({ token: tokenA, email: a, password: PASSWORD });
    expect(again.status).toBe(404);
    expect(again.body).toEqual({ detail: expect.any(String) });
  });

  it('refuses an emailed token with another address (400), and the invitation stays usable by its addressee', async () => {
    const to = address('addressee');
    expect((await send({ emails: [to], role: 'AN' })).status).toBe(200);
    const token = emailedToken(to);
    const wrong = await signup({ token, email: address('intruder'), password: PASSWORD });
    expect(wrong.status).toBe(400);
    expect(wrong.body.detail).toEqual(expect.any(String));
    const right = await signup({ token, email: to.toUpperCase(), password: PASSWORD });
    expect(right.status).toBe(201);
    expect((await membership(right.body.id)).body.role).toBe('AN');
  });

  it('gives the organization\'s default role when no role is sent', async () => {
    const to = address('default-role');
    expect((await send({ emails: [to] })).status).toBe(200);
    const r = await signup({ token: emailedToken(to), email: to });
    expect(r.status).toBe(201);
    expect((await membership(r.body.id)).body.role).toBe('AN');
  });

  it('replaces an earlier invitation to the same address: only the newest link works', async () => {
    const to = address('twice');
    expect((await send({ emails: [to], role: 'AN' })).status).toBe(200);
    const first = emailedToken(to);
    await new Promise((r) => setTimeout(r, 5));
    expect((await send({ emails: [to], role: 'MA' })).status).toBe(200);
    const second = emailedToken(to);
    expect(second).not.toBe(first);
    expect((await signup({ token: first, email: to })).status).toBe(404);
    const r = await signup({ token: second, email: to });
    expect(r.status).toBe(201);
    expect((await membership(r.body.id)).body.role).toBe('MA');
  });

  it('sends once to an address given twice in different case', async () => {
    const to = address('dup');
    const r = await send({ emails: [to, to.toUpperCase()], role: 'AN' });
    expect(r.status).toBe(200);
    expect(r.body.sent).toEqual([to]);
    expect(mails(to)).toHaveLength(1);
  });

  it('reports an address that is already a member in `skipped` and sends it nothing', async () => {
    const fresh = address('not-yet');
    const r = await send({ emails: ['OWNER@example.com', members.AN!.email, fresh], role: 'AN' });
    expect(r.status).toBe(200);
    expect(r.body.sent).toEqual([fresh]);
    expect(r.body.skipped.map((s: { email: string }) => s.email)).toEqual(['owner@example.com', members.AN!.email]);
    expect(mails('owner@example.com')).toEqual([]);
    expect(mails(members.AN!.email)).toEqual([]);
  });

  it('revokes an invitation: 200, its link then answers 404, and revoking again answers 404', async () => {
    const to = address('revoked');
    expect((await send({ emails: [to], role: 'AN' })).status).toBe(200);
    const token = emailedToken(to);
    const r = await call('POST', '/api/invite/revoke', { token: members.AD!.token, body: { email: to.toUpperCase() } });
    expect(r.status).toBe(200);
    expect((await signup({ token, email: to, password: PASSWORD })).status).toBe(404);
    const again = await call('POST', '/api/invite/revoke', { token: OWNER_TOKEN, body: { email: to } });
    expect(again.status).toBe(404);
    expect(again.body).toEqual({ detail: expect.any(String) });
  });

  it('answers 404 when revoking an invitation that was already used', async () => {
    const to = address('used');
    await send({ emails: [to], role: 'AN' });
    expect((await signup({ token: emailedToken(to), email: to })).status).toBe(201);
    expect((await call('POST', '/api/invite/revoke', { token: OWNER_TOKEN, body: { email: to } })).status).toBe(404);
  });
});

describe('people who already have an account', () => {
  it('accepts an emailed invitation for an existing account without credentials (the token proves the address), joining both organizations', async () => {
    const other = await otherOrg(db, 'Elsewhere');
    const r = await send({ emails: [other.owner.email], role: 'AN' });
    expect(r.body.sent).toEqual([other.owner.email]);
    const token = emailedToken(other.owner.email);

    const accepted = await signup({ token, email: other.owner.email });
    expect(accepted.status).toBe(201);
    expect(accepted.body.id).toBe(other.owner.userId);
    expect((await membership(other.owner.userId)).body).toMatchObject({ role: 'AN', role_source: 'manual' });
    const orgs = await call('GET', '/api/organizations/', { token: other.owner.token });
    expect(orgs.status).toBe(200);
    expect(orgs.body.map((o: { id: number }) => o.id).sort((x: number, y: number) => x - y)).toEqual([1, other.orgId]);
    // Their own organization is untouched: still its Owner there (their legacy token is bound to it).
    expect((await call('GET', '/api/current-user/whoami', { token: other.owner.token })).body.organization_membership).toMatchObject({ role: 'OW' });
    expect((await signup({ token, email: other.owner.email })).status).toBe(404);
  });

  it('needs the account\'s credentials to join an existing account through the organization\'s link (409 without)', async () => {
    const other = await otherOrg(db, 'Elsewhere via link');
    const link = (await call('GET', '/api/invite', { token: OWNER_TOKEN })).body.token as string;
    const anonymous = await signup({ token: link, email: other.owner.email, password: PASSWORD });
    expect(anonymous.status).toBe(409);
    expect(anonymous.body).toEqual({ detail: expect.any(String) });
    const signedIn = await signup({ token: link, email: other.owner.email }, other.owner.token);
    expect(signedIn.status).toBe(201);
    expect((await membership(other.owner.userId)).body).toMatchObject({ role: 'NO', role_source: 'manual' });
  });

  it('refuses someone signed in as another person (409), leaving the invitation usable', async () => {
    const other = await otherOrg(db, 'Elsewhere 2');
    await send({ emails: [other.owner.email], role: 'RE' });
    const token = emailedToken(other.owner.email);
    expect((await signup({ token, email: other.owner.email }, members.AN!.token)).status).toBe(409);
    expect((await signup({ token, email: other.owner.email }, other.owner.token)).status).toBe(201);
    expect((await membership(other.owner.userId)).body.role).toBe('RE');
  });

  it('refuses signing up through the link with an existing member\'s address and no credentials (409), changing nothing', async () => {
    const { token } = (await call('GET', '/api/invite', { token: OWNER_TOKEN })).body;
    const r = await signup({ token, email: members.RE!.email.toUpperCase(), password: PASSWORD });
    expect(r.status).toBe(409);
    expect(r.body).toEqual({ detail: expect.any(String) });
    expect((await membership(members.RE!.userId)).body.role).toBe('RE');
    expect((await call('GET', '/api/current-user/whoami', { token: members.RE!.token })).status).toBe(200);
  });

  it('refuses a signed-in caller using an address that has no account (400)', async () => {
    const to = address('no-account');
    await send({ emails: [to], role: 'AN' });
    const r = await signup({ token: emailedToken(to), email: to }, members.RE!.token);
    expect(r.status).toBe(400);
    expect(r.body.detail).toEqual(expect.any(String));
  });
});

describe('coming back', () => {
  it('lets a member deleted from their only organization come back through a new invitation', async () => {
    // A member with every kind of credential: a sign-in account (password) and a legacy token.
    const email = address('comeback');
    const created = await call('POST', '/api/users/', { token: OWNER_TOKEN, body: { email, password: PASSWORD } });
    expect(created.status).toBe(201);
    const legacy = (await call('GET', '/api/current-user/token', { headers: { authorization: `Bearer ${await signIn(email)}` } })).body.token as string;
    expect((await call('GET', '/api/current-user/whoami', { token: legacy })).status).toBe(200);
    expect((await call('DELETE', `/api/organizations/1/memberships/${created.body.id}/`, { token: OWNER_TOKEN })).status).toBe(204);
    expect((await call('GET', '/api/current-user/whoami', { token: legacy })).status).toBe(401);

    const r = await send({ emails: [email], role: 'RE' });
    expect(r.body.sent).toEqual([email]);
    const token = emailedToken(email);
    // SPEC §3: a deleted member "must be invited again to come back". Any one way in will do.
    const attempts: Record<string, number | string> = {};
    attempts.anonymous = (await signup({ token, email, password: PASSWORD })).status;
    if (attempts.anonymous !== 201) attempts.legacyToken = (await signup({ token, email }, legacy)).status;
    if (attempts.legacyToken !== undefined && attempts.legacyToken !== 201) {
      try {
        const jwt = await signIn(email);
        attempts.cognito = (await call('POST', '/api/invite/signup', { headers: { authorization: `Bearer ${jwt}` }, body: { token, email } })).status;
      } catch (err) {
        attempts.cognito = `sign-in refused: ${(err as Error).name}`;
      }
    }
    expect(Object.values(attempts), JSON.stringify(attempts)).toContain(201);
    expect((await membership(created.body.id)).body).toMatchObject({ role: 'RE', role_source: 'manual' });
  });

  it('creates exactly one user when one emailed invitation is used 5 times at once', async () => {
    const to = address('race');
    await send({ emails: [to], role: 'AN' });
    const token = emailedToken(to);
    const replies = await Promise.all(Array.from({ length: 5 }, () => signup({ token, email: to })));
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    for (const s of statuses) expect([201, 404, 409]).toContain(s);
    const list = await call('GET', `/api/organizations/1/memberships?page_size=1000`, { token: OWNER_TOKEN });
    expect(list.body.results.filter((x: { user: { email: string } }) => x.user.email === to)).toHaveLength(1);
  });
});

describe('bad input', () => {
  it.each([
    ['emails not a list', { emails: 'a@example.com', role: 'AN' }],
    ['an empty list', { emails: [], role: 'AN' }],
    ['an invalid email', { emails: ['not-an-email'], role: 'AN' }],
    ['role OW', { emails: ['ow-role@example.com'], role: 'OW' }],
    ['role DI', { emails: ['di-role@example.com'], role: 'DI' }],
    ['role XX', { emails: ['xx-role@example.com'], role: 'XX' }],
    ['no emails', { role: 'AN' }],
  ])('send-email answers 400 with {detail} for %s, and sends nothing', async (_, body) => {
    const r = await send(body);
    expect(r.status).toBe(400);
    expect(typeof r.body.detail).toBe('string');
    for (const to of ['a@example.com', 'ow-role@example.com', 'di-role@example.com', 'xx-role@example.com']) expect(mails(to)).toEqual([]);
    expect((await call('POST', '/api/invite/revoke', { token: OWNER_TOKEN, body: { email: 'ow-role@example.com' } })).status).toBe(404);
  });

  it.each([
    ['no token', { email: 'x@example.com', password: PASSWORD }],
    ['an empty token', { token: '', email: 'x@example.com' }],
    ['no email', { token: 'abc' }],
    ['an invalid email', { token: 'abc', email: 'nope' }],
    ['a short password', { token: 'abc', email: 'x@example.com', password: 'short' }],
    ['a numeric token', { token: 123, email: 'x@example.com' }],
  ])('signup answers 400 with {detail} for %s', async (_, body) => {
    const r = await signup(body);
    expect(r.status).toBe(400);
    expect(typeof r.body.detail).toBe('string');
  });

  it('signup answers 400 for malformed JSON and 404 for an unknown token', async () => {
    const bad = await call('POST', '/api/invite/signup', { raw: '{"token": ', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(typeof bad.body.detail).toBe('string');
    expect(await signup({ token: 'f'.repeat(40), email: 'x@example.com' })).toMatchObject({ status: 404, body: { detail: expect.any(String) } });
  });

  it('signup answers 401 for a wrong credential rather than treating the caller as anonymous', async () => {
    const { token } = (await call('GET', '/api/invite', { token: OWNER_TOKEN })).body;
    const r = await signup({ token, email: address('wrong-cred') }, 'wrong-token');
    expect(r.status).toBe(401);
  });

  it('revoke answers 400 with {detail} for a missing or invalid email', async () => {
    for (const body of [{}, { email: 'nope' }, { email: 42 }]) {
      const r = await call('POST', '/api/invite/revoke', { token: OWNER_TOKEN, body });
      expect(r.status).toBe(400);
      expect(typeof r.body.detail).toBe('string');
    }
  });
});

describe("LSE's role sources", () => {
  it('answers a membership page that validates against LSE for members made by the API, by invitation and by bootstrap, every role_source one of LSE\'s', async () => {
    const made = await call('POST', '/api/users/', { token: OWNER_TOKEN, body: { email: address('by-api') } });
    expect(made.status).toBe(201);
    const { token } = (await call('GET', '/api/invite', { token: OWNER_TOKEN })).body;
    const invited = await signup({ token, email: address('by-link'), password: PASSWORD });
    expect(invited.status).toBe(201);
    const page = await call('GET', '/api/organizations/1/memberships?page_size=1000', { token: OWNER_TOKEN });
    expect(page.status).toBe(200);
    expect(lseErrors('PaginatedLseOrganizationMemberListList', page.body)).toEqual([]);
    const source = (id: number) => page.body.results.find((m: { id: number }) => m.id === id)?.role_source;
    // The bootstrap Owner (user 1), a user made with a token through the API, and one who came by invitation.
    expect([source(1), source(made.body.id), source(invited.body.id)]).toEqual(['manual', 'api', 'manual']);
    expect(page.body.results.map((m: { role_source: string }) => m.role_source).filter((s: string) => !['manual', 'saml', 'scim', 'ldap', 'api', 'billing'].includes(s))).toEqual([]);
    // The finer cause is the activity log's: the membership history says the invitation made it.
    const history = `/api/fsm/organizations/1/membership-history/?user_id=${invited.body.id}`;
    let entry: { context_data: { source: string; role_source: string | null } } | undefined;
    for (let i = 0; i < 200 && !entry; i++, await new Promise((r) => setTimeout(r, 100))) entry = (await call('GET', `${history}&source=invite`, { token: OWNER_TOKEN })).body.results?.[0];
    expect(entry?.context_data).toMatchObject({ source: 'invite', role_source: 'manual' });
    expect((await call('GET', `${history}&source=manual`, { token: OWNER_TOKEN })).body.count).toBeGreaterThan(0);
    expect((await call('GET', `${history}&source=scim`, { token: OWNER_TOKEN })).body.count).toBe(0);
  });

  it('answers role sources stored before Roster used LSE\'s values (invite, system) as manual, in listings and a member\'s details', async () => {
    const old = await addMember(db, 1, 'AN', address('legacy'));
    for (const legacy of ['invite', 'system']) {
      await db.doc.send(new UpdateCommand({ TableName: db.table, Key: keys.membership(1, old.userId), UpdateExpression: 'SET role_source = :s', ExpressionAttributeValues: { ':s': legacy } }));
      const page = await call('GET', '/api/organizations/1/memberships?page_size=1000', { token: OWNER_TOKEN });
      expect(page.body.results.find((m: { id: number }) => m.id === old.userId)).toMatchObject({ role_source: 'manual' });
      expect(lseErrors('PaginatedLseOrganizationMemberListList', page.body)).toEqual([]);
      expect((await membership(old.userId)).body).toMatchObject({ role_source: 'manual' });
    }
  });
});

describe('secrets', () => {
  it('stores emailed invitation tokens only as hashes, and never a password', async () => {
    expect(emailed.size).toBeGreaterThan(10);
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await db.doc.send(new ScanCommand({ TableName: db.table, ConsistentRead: true, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    const text = items.map((i) => JSON.stringify(i));
    expect(items.filter((i) => i.type === 'invite').length).toBeGreaterThan(0);
    expect([...emailed, PASSWORD].filter((s) => text.some((t) => t.includes(s)))).toEqual([]);
    const log = roster.lines.join('\n');
    expect([...emailed, PASSWORD].filter((s) => log.includes(s))).toEqual([]);
  });
});
