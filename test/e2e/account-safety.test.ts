/**
 * Accounts span organizations: what one organization's administrators or its shared invite link can
 * do must never reach a person's account elsewhere.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../lib/core/db.js';
import { resetLegacyToken } from '../../lib/org/tokens.js';
import { addMember, otherOrg } from '../support/db.js';
import { signIn } from '../support/cognito.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;
const PASSWORD = 'Str0ng-pass!';
const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
});
afterAll(() => roster?.stop());

/** The token in the last invitation emailed to an address (the local outbox). */
function emailedToken(to: string): string {
  const dir = process.env.ROSTER_OUTBOX_DIR!;
  const mails = readdirSync(dir).filter((f) => f.includes(to.replace(/[^a-z0-9@._-]/gi, '_'))).sort();
  return /token=([0-9a-f]+)/.exec(readFileSync(join(dir, mails.at(-1)!), 'utf8'))![1]!;
}

describe('account safety', () => {
  it('never lets an Administrator set another person\'s password, nor edit a deleted member', async () => {
    const target = await call('POST', '/api/users/', { token: OWNER_TOKEN, body: { email: 'target@example.com', password: PASSWORD } });
    const admin = await addMember(db, 1, 'AD');
    expect((await call('PATCH', `/api/users/${target.body.id}/`, { token: admin.token, body: { password: 'Taken0ver!!' } })).status).toBe(403);
    expect(await signIn(roster.cognito, 'target@example.com', PASSWORD)).toEqual(expect.any(String));
    await call('DELETE', `/api/organizations/1/memberships/${target.body.id}/`, { token: OWNER_TOKEN });
    expect((await call('PATCH', `/api/users/${target.body.id}/`, { token: admin.token, body: { first_name: 'x' } })).status).toBe(404);
  });

  it('hands an address squatted through the shared link to the person an invitation is emailed to', async () => {
    const link = (await call('GET', '/api/invite', { token: OWNER_TOKEN })).body.token;
    const squat = await call('POST', '/api/invite/signup', { body: { token: link, email: 'victim@corp.example', password: 'Squatter-1!' } });
    expect(squat.status).toBe(201);
    // Another organization invites the real owner of the address as an Administrator.
    const other = await otherOrg(db, 'Victim Corp');
    await call('POST', '/api/invite/send-email', { token: other.owner.token, body: { emails: ['victim@corp.example'], role: 'AD' } });
    const token = emailedToken('victim@corp.example');
    expect((await call('POST', '/api/invite/signup', { body: { token, email: 'victim@corp.example' } })).status).toBe(400); // a password is needed to take the account
    const taken = await call('POST', '/api/invite/signup', { body: { token, email: 'victim@corp.example', password: 'Real-owner-1!' } });
    expect(taken.status).toBe(201);
    await expect(signIn(roster.cognito, 'victim@corp.example', 'Squatter-1!')).rejects.toThrow();
    const jwt = await signIn(roster.cognito, 'victim@corp.example', 'Real-owner-1!');
    expect((await call('GET', '/api/current-user/whoami', { headers: bearer(jwt) })).body).toMatchObject({ active_organization: other.orgId, organization_membership: { role: 'AD' } });
  });

  it('keeps a signed-in person\'s active organization when they join another through its link as Not Activated', async () => {
    const created = await call('POST', '/api/users/', { token: OWNER_TOKEN, body: { email: 'joiner@example.com', password: PASSWORD } });
    expect(created.status).toBe(201);
    const jwt = await signIn(roster.cognito, 'joiner@example.com', PASSWORD);
    const other = await otherOrg(db, 'Has a link');
    const link = (await call('GET', '/api/invite', { token: other.owner.token })).body.token;
    expect((await call('POST', '/api/invite/signup', { headers: bearer(jwt), body: { token: link, email: 'joiner@example.com' } })).status).toBe(201);
    const who = await call('GET', '/api/current-user/whoami', { headers: bearer(jwt) });
    expect(who).toMatchObject({ status: 200, body: { active_organization: 1 } });
  });

  it('brings an invitation\'s workspaces and projects along on acceptance', async () => {
    const ws = (await call('POST', '/api/workspaces/', { token: OWNER_TOKEN, body: { title: 'Invited into' } })).body.id;
    const inWs = (await call('POST', '/api/projects/', { token: OWNER_TOKEN, body: { title: 'ws project', workspace: ws } })).body.id;
    const direct = (await call('POST', '/api/projects/', { token: OWNER_TOKEN, body: { title: 'direct project' } })).body.id;
    await call('POST', '/api/invite/send-email', { token: OWNER_TOKEN, body: { emails: ['places@example.com'], role: 'AN', workspaces: [ws, 999_999], projects: [direct] } });
    const joined = await call('POST', '/api/invite/signup', { body: { token: emailedToken('places@example.com'), email: 'places@example.com', password: PASSWORD } });
    expect(joined.status).toBe(201);
    const jwt = await signIn(roster.cognito, 'places@example.com', PASSWORD);
    for (const p of [inWs, direct]) expect((await call('GET', `/api/projects/${p}/`, { headers: bearer(jwt) })).status).toBe(200);
  });

  it('keeps personal access tokens of a deleted member dead after they are invited back', async () => {
    const m = await addMember(db, 1, 'AN', 'returning@example.com');
    const pat = (await call('POST', '/api/token/', { token: m.token })).body.token;
    expect((await call('POST', '/api/token/refresh/', { body: { refresh: pat } })).status).toBe(200);
    await call('DELETE', `/api/organizations/1/memberships/${m.userId}/`, { token: OWNER_TOKEN });
    await call('POST', '/api/invite/send-email', { token: OWNER_TOKEN, body: { emails: ['returning@example.com'], role: 'AN' } });
    expect((await call('POST', '/api/invite/signup', { body: { token: emailedToken('returning@example.com'), email: 'returning@example.com' } })).status).toBe(201);
    expect((await call('POST', '/api/token/refresh/', { body: { refresh: pat } })).status).toBe(401);
    // Back as a member, with a new legacy token, they can make new ones.
    const token = await resetLegacyToken(db, 1, m.userId);
    expect((await call('POST', '/api/token/', { token })).status).toBe(201);
  });
});
