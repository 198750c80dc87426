import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../lib/core/db.js';
import { otherOrg } from '../support/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';
import { TestIdp, identityItems, poolUsernames, postResponse, redeem, signInOverHttp, startSignIn } from '../support/saml.js';

// SSO end to end over HTTP with Roster's own triggers (functions/cognito/, from the route table),
// configured through /api/saml/settings: the mapping rules through sign-ins, and the refusals only
// Roster's triggers can make (a foreign domain, another organization's IdP).
let roster: Awaited<ReturnType<typeof startTestRoster>>;
let pool: Awaited<ReturnType<typeof startTestRoster>>['cognito'];
let call: ReturnType<typeof client>;
let db: Db;
let ws: number;
let orgB: Awaited<ReturnType<typeof otherOrg>>;
const idpA = new TestIdp('https://idp.acme.test/saml');
const idpB = new TestIdp('https://idp.beta.test/saml');
const PROVIDER_A = 'roster-org-1';
const bearer = (jwt: string) => ({ headers: { authorization: `Bearer ${jwt}` } });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  roster = await startTestRoster();
  pool = roster.cognito;
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  ws = (await call('POST', '/api/workspaces/', { token: OWNER_TOKEN, body: { title: 'Labeling' } })).body.id;
  const saved = await call('POST', '/api/saml/settings', {
    token: OWNER_TOKEN,
    body: { domain: 'acme.test', metadata_xml: idpA.metadata(), roles_groups: [['Reviewer', 'reviewers'], ['Annotator', 'annotators']], workspaces_groups: [['Labeling', 'reviewers']] },
  });
  expect(saved.status).toBe(201);
  // The IdP is in the pool (IDPInit on) and enabled on the SSO client; its login URL starts a sign-in there.
  expect(saved.body.login_url).toContain(`${pool.endpoint}/oauth2/authorize?identity_provider=${PROVIDER_A}`);
  orgB = await otherOrg(db, 'Beta');
  expect((await call('POST', '/api/saml/settings', { token: orgB.owner.token, body: { domain: 'beta.test', metadata_xml: idpB.metadata() } })).status).toBe(201);
});
afterAll(() => roster?.stop());

const signIn = (nameId: string, email: string, groups?: string[], provider = PROVIDER_A, idp = idpA) =>
  signInOverHttp(pool, provider, idp, { nameId, attributes: { Email: email, FirstName: 'Sam', LastName: 'Ple', ...(groups ? { Groups: groups } : {}) } });

async function membership(userId: number) {
  const r = await call('GET', `/api/organizations/1/memberships/${userId}/`, { token: OWNER_TOKEN });
  return r.body as { role: string; role_source: string };
}
async function inWorkspace(userId: number): Promise<boolean> {
  const r = await call('GET', `/api/workspaces/${ws}/memberships/`, { token: OWNER_TOKEN });
  return (r.body as { user: { id: number } | number }[]).some((m) => (typeof m.user === 'number' ? m.user : m.user.id) === userId);
}
/** The organization's log entries about a member, once the stream consumer has written `count` of `actions`. */
async function logged(userId: number, actions: string[], count: number) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await call('GET', `/api/activity-logs/?page_size=500&user=${userId}`, { token: OWNER_TOKEN });
    const found = (r.body.data as { action: string; source: string; subject_user_id: number | null; before: any; after: any }[]).filter((e) => e.subject_user_id === userId && actions.includes(e.action));
    if (found.length >= count || Date.now() > deadline) return found;
    await pause(200);
  }
}
async function rosterUsers(): Promise<string[]> {
  const r = await call('GET', '/api/users/', { token: OWNER_TOKEN });
  return (r.body as { email: string }[]).map((u) => u.email);
}

describe('just-in-time provisioning and group mappings through sign-ins', () => {
  it('first sign-in creates the member with the mapped role (source saml) in the mapped workspace; whoami answers as them', async () => {
    const jwt = await signIn('nid-rev', 'Rita@Acme.test', ['reviewers']);
    const who = await call('GET', '/api/current-user/whoami', bearer(jwt));
    expect(who).toMatchObject({ status: 200, body: { email: 'rita@acme.test', active_organization: 1, organization_membership: { role: 'RE' } } });
    expect(await membership(who.body.id)).toMatchObject({ role: 'RE', role_source: 'saml' });
    expect(await inWorkspace(who.body.id)).toBe(true);
    expect(await poolUsernames(pool)).toContain(`${PROVIDER_A}_nid-rev`);
  });

  it('a later sign-in with the groups changed follows them: Reviewer → Annotator, the workspace left', async () => {
    const jwt = await signIn('nid-chg', 'carl@acme.test', ['reviewers']);
    const id = (await call('GET', '/api/current-user/whoami', bearer(jwt))).body.id;
    expect(await membership(id)).toMatchObject({ role: 'RE' });
    await signIn('nid-chg', 'carl@acme.test', ['annotators']);
    expect(await membership(id)).toMatchObject({ role: 'AN', role_source: 'saml' });
    expect(await inWorkspace(id)).toBe(false);
    const changes = await logged(id, ['membership.role_changed'], 1);
    expect(changes).toContainEqual(expect.objectContaining({ action: 'membership.role_changed', source: 'saml' }));
  });

  it('a later sign-in without any role group (no Groups attribute at all) deactivates the member, though Cognito kept the old groups', async () => {
    const jwt = await signIn('nid-gone', 'gina@acme.test', ['reviewers']);
    const id = (await call('GET', '/api/current-user/whoami', bearer(jwt))).body.id;
    const later = await signIn('nid-gone', 'gina@acme.test');
    expect(await membership(id)).toMatchObject({ role: 'DI', role_source: 'saml' });
    expect(await call('GET', '/api/current-user/whoami', bearer(later))).toMatchObject({ status: 401 });
    const entries = await logged(id, ['membership.created', 'membership.role_changed', 'membership.deactivated'], 2);
    expect(entries.map((e) => [e.action, e.source])).toEqual(expect.arrayContaining([['membership.deactivated', 'saml']]));
  });

  it('two first sign-ins of the same person at once make one user and one membership', async () => {
    const starts = await Promise.all([startSignIn(pool, PROVIDER_A), startSignIn(pool, PROVIDER_A)]);
    const results = await Promise.all(
      starts.map(({ requestId, relayState }) => postResponse(pool, idpA.response(pool, { inResponseTo: requestId, nameId: 'nid-twin', attributes: { Email: 'twin@acme.test', Groups: ['reviewers'] } }), relayState)),
    );
    expect(results.map((r) => r.status)).toEqual([302, 302]);
    const tokens = await Promise.all(results.map((r) => redeem(pool, r.location!)));
    const ids = await Promise.all(tokens.map(async (t) => (await call('GET', '/api/current-user/whoami', bearer(t.access_token))).body.id));
    expect(ids[0]).toBe(ids[1]);
    expect((await poolUsernames(pool)).filter((u) => u === `${PROVIDER_A}_nid-twin`)).toHaveLength(1);
    expect((await rosterUsers()).filter((e) => e === 'twin@acme.test')).toHaveLength(1);
    expect(await membership(ids[0])).toMatchObject({ role: 'RE', role_source: 'saml' });
  });

  it('with manual role management on, a sign-in without the group leaves the role as it is', async () => {
    const jwt = await signIn('nid-man', 'mona@acme.test', ['reviewers']);
    const id = (await call('GET', '/api/current-user/whoami', bearer(jwt))).body.id;
    expect((await call('POST', '/api/saml/settings', { token: OWNER_TOKEN, body: { manual_role_management: true } })).status).toBe(201);
    try {
      const later = await signIn('nid-man', 'mona@acme.test', ['someone-else']);
      expect(await membership(id)).toMatchObject({ role: 'RE' });
      expect((await call('GET', '/api/current-user/whoami', bearer(later))).body.organization_membership.role).toBe('RE');
    } finally {
      await call('POST', '/api/saml/settings', { token: OWNER_TOKEN, body: { manual_role_management: false } });
    }
  });
});

describe('refusals by Roster\'s triggers: nothing is created', () => {
  async function refusedSignIn(nameId: string, email: string, provider = PROVIDER_A, idp = idpA, groups?: string[]) {
    const before = await rosterUsers();
    const items = await identityItems(db);
    const { requestId, relayState } = await startSignIn(pool, provider);
    const r = await postResponse(pool, idp.response(pool, { inResponseTo: requestId, nameId, attributes: { Email: email, ...(groups ? { Groups: groups } : {}) } }), relayState);
    expect(r.status).toBe(400);
    expect(r.location).toBeUndefined();
    expect(await poolUsernames(pool)).not.toContain(`${provider}_${nameId}`);
    expect(await rosterUsers()).toEqual(before);
    expect(await identityItems(db)).toEqual(items);
    return r.text;
  }

  it('refuses an email outside the organization\'s domains', async () => {
    expect(await refusedSignIn('nid-out', 'someone@elsewhere.test')).toMatch(/failed with error elsewhere\.test is not one of this organization/);
  });

  it('refuses organization A\'s IdP asserting a person of organization B', async () => {
    expect(await refusedSignIn('nid-b', 'bob@beta.test')).toMatch(/failed with error beta\.test is not one of this organization/);
    // Organization B's own IdP signs them into B, not A.
    const jwt = await signIn('nid-b', 'bob@beta.test', undefined, 'roster-org-' + orgB.orgId, idpB);
    expect((await call('GET', '/api/current-user/whoami', bearer(jwt))).body).toMatchObject({ email: 'bob@beta.test', active_organization: orgB.orgId });
  });

  it('refuses oversized groups (over Cognito\'s 2,048 characters) with a clear message', async () => {
    const groups = Array.from({ length: 150 }, (_, i) => `reviewers-${i}`);
    expect(await refusedSignIn('nid-big', 'big@acme.test', PROVIDER_A, idpA, groups)).toMatch(/more than Cognito&#39;s limit of 2048/);
  });

  it('a code is redeemed once only, and only by the SSO client', async () => {
    const { requestId, relayState } = await startSignIn(pool, PROVIDER_A);
    const r = await postResponse(pool, idpA.response(pool, { inResponseTo: requestId, nameId: 'nid-code', attributes: { Email: 'code@acme.test', Groups: ['annotators'] } }), relayState);
    const code = new URL(r.location!).searchParams.get('code')!;
    const other = await fetch(`${pool.endpoint}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: pool.clientId, redirect_uri: pool.callbackUrl }) });
    expect(other.status).toBe(400);
    expect((await redeem(pool, r.location!)).access_token).toBeTruthy();
    await expect(redeem(pool, r.location!)).rejects.toThrow(/invalid_grant/);
  });
});
