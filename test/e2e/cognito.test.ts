import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountEnabled, signIn } from '../support/cognito.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
});
afterAll(() => roster?.stop());

describe('sign-in through Cognito', () => {
  it('creates the sign-in account with the password, and the Cognito access token works with roles from the table', async () => {
    const created = await call('POST', '/api/users/', { token: OWNER_TOKEN, body: { email: 'Signer@Example.com', password: 'Str0ng-pass!' } });
    expect(created.status).toBe(201);
    const jwt = await signIn(roster.cognito, 'signer@example.com', 'Str0ng-pass!');
    const who = await call('GET', '/api/current-user/whoami', { headers: bearer(jwt) });
    expect(who).toMatchObject({ status: 200, body: { email: 'signer@example.com', organization_membership: { role: 'AN' } } });
    // The role comes from the table: promote, and the same token shows it on the next request.
    await call('PATCH', '/api/organizations/1/memberships', { token: OWNER_TOKEN, body: { user_id: created.body.id, role: 'MA' } });
    expect((await call('GET', '/api/current-user/whoami', { headers: bearer(jwt) })).body.organization_membership.role).toBe('MA');
    expect((await call('GET', '/api/organizations/1/memberships', { headers: bearer(jwt) })).status).toBe(200);
  });

  it('refuses the token of a deactivated member on the next request, and accepts it again after reactivation', async () => {
    const created = await call('POST', '/api/users/', { token: OWNER_TOKEN, body: { email: 'paused@example.com', password: 'Str0ng-pass!' } });
    const jwt = await signIn(roster.cognito, 'paused@example.com', 'Str0ng-pass!');
    expect((await call('GET', '/api/current-user', { headers: bearer(jwt) })).status).toBe(200);
    await call('PATCH', '/api/organizations/1/memberships', { token: OWNER_TOKEN, body: { user_id: created.body.id, role: 'DI' } });
    expect(await call('GET', '/api/current-user', { headers: bearer(jwt) })).toMatchObject({ status: 401, body: { detail: 'User inactive or deleted.' } });
    // With no active membership left, the sign-in account is disabled too (and enabled again after).
    expect(await accountEnabled(roster.cognito, 'paused@example.com')).toBe(false);
    await call('PATCH', '/api/organizations/1/memberships', { token: OWNER_TOKEN, body: { user_id: created.body.id, role: 'AN' } });
    expect((await call('GET', '/api/current-user', { headers: bearer(jwt) })).status).toBe(200);
    expect(await accountEnabled(roster.cognito, 'paused@example.com')).toBe(true);
  });

  it('changes the password through PATCH /api/current-user', async () => {
    await call('POST', '/api/users/', { token: OWNER_TOKEN, body: { email: 'changer@example.com', password: 'Str0ng-pass!' } });
    const jwt = await signIn(roster.cognito, 'changer@example.com', 'Str0ng-pass!');
    expect((await call('PATCH', '/api/current-user', { headers: bearer(jwt), body: { password: 'An0ther-pass!' } })).status).toBe(200);
    await expect(signIn(roster.cognito, 'changer@example.com', 'Str0ng-pass!')).rejects.toThrow();
    expect(await signIn(roster.cognito, 'changer@example.com', 'An0ther-pass!')).toEqual(expect.any(String));
  });

  it('acts in the active organization, which the user switches', async () => {
    const created = await call('POST', '/api/users/', { token: OWNER_TOKEN, body: { email: 'founder@example.com', password: 'Str0ng-pass!' } });
    const jwt = await signIn(roster.cognito, 'founder@example.com', 'Str0ng-pass!');
    const org = await call('POST', '/api/organizations/', { headers: bearer(jwt), body: { title: 'Founded' } });
    expect((await call('GET', '/api/current-user/whoami', { headers: bearer(jwt) })).body.active_organization).toBe(1);
    expect((await call('PATCH', '/api/current-user', { headers: bearer(jwt), body: { active_organization: org.body.id } })).status).toBe(200);
    const who = await call('GET', '/api/current-user/whoami', { headers: bearer(jwt) });
    expect(who.body).toMatchObject({ id: created.body.id, active_organization: org.body.id, organization_membership: { role: 'OW' } });
    expect((await call('GET', `/api/organizations/${org.body.id}/memberships`, { headers: bearer(jwt) })).status).toBe(200);
  });

  it('refuses forged, foreign and malformed bearer tokens with 401', async () => {
    const jwt = await signIn(roster.cognito, 'signer@example.com', 'Str0ng-pass!');
    const [h, p] = jwt.split('.');
    const forged = `${h}.${p}.${Buffer.from('not the signature').toString('base64url')}`;
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const otherClient = `${h}.${Buffer.from(JSON.stringify({ ...claims, client_id: 'someone-else' })).toString('base64url')}.${jwt.split('.')[2]}`;
    for (const token of [forged, otherClient, 'abc', 'a.b.c']) {
      const r = await call('GET', '/api/current-user/whoami', { headers: bearer(token) });
      expect(r.status).toBe(401);
      expect(typeof r.body.detail).toBe('string');
    }
  });

  it('refuses a weak password with a field error, and creates no half user', async () => {
    const r = await call('POST', '/api/users/', { token: OWNER_TOKEN, body: { email: 'weak@example.com', password: 'short' } });
    expect(r.status).toBe(400);
    expect(r.body.validation_errors.password).toBeDefined();
    expect((await call('GET', '/api/organizations/1/memberships?search=weak@', { token: OWNER_TOKEN })).body.count).toBe(0);
  });
});
