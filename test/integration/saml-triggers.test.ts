import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from '../../lib/access/projects.js';
import { createWorkspace } from '../../lib/access/workspaces.js';
import { type Db, getItem, newRoundTrips, queryAll, roundTrips } from '../../lib/core/db.js';
import type { Principal } from '../../lib/core/model.js';
import { keys } from '../../lib/core/table.js';
import { CognitoSamlIdentityProviders } from '../../lib/federation/saml/idp.js';
import { updateSamlSettings } from '../../lib/federation/saml/settings.js';
import { authenticate } from '../../lib/identity/auth.js';
import { cognitoVerifier } from '../../lib/identity/cognito.js';
import { handler as inbound } from '../../functions/cognito/inbound-federation.js';
import { handler as preSignUpHandler } from '../../functions/cognito/pre-sign-up.js';
import { handler as preTokenHandler } from '../../functions/cognito/pre-token.js';
import { type IdpStandIn, startIdpStandIn } from '../support/cognito-idp.js';
import { inboundFederation, preSignUp, preToken } from '../support/cognito-events.js';
import { addMember, bootstrapOrg, endpoint, freshTable, otherOrg } from '../support/db.js';
import { idpMetadata, selfSignedCert } from '../support/saml.js';

let db: Db;
let pool: IdpStandIn;
let betaOrg: number;
let medical: number;
let project: number;
const owner: Principal = { userId: 1, orgId: 1, role: 'OW', via: 'token', overrides: {} };
const xml = idpMetadata({ certs: [{ b64: selfSignedCert(365).b64 }] });
const A = 'roster-org-1';
let B: string;

/** One federated sign-in as Cognito runs the triggers for it: inbound federation, then token generation. */
async function signIn(nameId: string, saml: Record<string, string>, mapped: Record<string, string>, provider = A) {
  await inbound(inboundFederation(provider, nameId, saml));
  return preTokenHandler(preToken(`${provider}_${nameId}`.toLowerCase(), mapped));
}
const member = async (orgId: number, email: string) => {
  const claim = await getItem(db, keys.email(email));
  return claim ? getItem(db, keys.membership(orgId, Number(claim.userId))) : undefined;
};
const rejects = async (p: Promise<unknown>, pattern: RegExp) => {
  const err = await p.then(() => undefined, (e: unknown) => e as Error);
  expect(err, 'expected the trigger to refuse').toBeInstanceOf(Error);
  expect(err!.message).toMatch(pattern);
};

beforeAll(async () => {
  db = await freshTable('samltrig');
  process.env.TABLE_NAME = db.table;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint();
  await bootstrapOrg(db);
  const beta = await otherOrg(db, 'Beta');
  betaOrg = beta.orgId;
  B = `roster-org-${betaOrg}`;
  medical = (await createWorkspace(db, owner, { title: 'Medical' })).id;
  project = (await createProject(db, owner, { title: 'Scans', workspace: medical } as never)).id;
  pool = await startIdpStandIn();
  const idp = new CognitoSamlIdentityProviders(new CognitoIdentityProviderClient({ endpoint: pool.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }), pool.userPoolId, pool.clientId);
  await updateSamlSettings(db, owner, {
    domain: 'acme.example',
    metadata_xml: xml,
    idp_provider: 'okta',
    roles_groups: [['Reviewer', 'Reviewers'], ['Administrator', 'Admins']],
    workspaces_groups: [['Medical', 'Reviewers']],
    projects_groups: [{ project_id: project, group: 'Scanners', role: 'Reviewer' }],
  }, { idp });
  await updateSamlSettings(db, { userId: beta.owner.userId, orgId: betaOrg, role: 'OW', via: 'token', overrides: {} }, { domain: 'beta.example', metadata_xml: xml, idp_provider: 'okta' }, { idp });
});
afterAll(async () => {
  await pool?.stop();
});

describe('PreSignUp_ExternalProvider', () => {
  it('admits a first sign-in through an organization\'s IdP with an email in its domains, leaving the response as Cognito gave it', async () => {
    const e = preSignUp('roster-org-1_00u1ann', { email: 'ann@acme.example', 'custom:groups': '[Reviewers]' });
    expect(await preSignUpHandler(structuredClone(e))).toEqual(e);
  });

  it('refuses an email outside the organization\'s domains, and a user of org B asserted by org A\'s IdP', async () => {
    await rejects(preSignUpHandler(preSignUp('roster-org-1_x', { email: 'eve@evil.example' })), /not one of this organization's SSO domains/);
    await rejects(preSignUpHandler(preSignUp('roster-org-1_x', { email: 'bob@beta.example' })), /beta\.example is not one/);
    await rejects(preSignUpHandler(preSignUp('roster-org-1_x', {})), /no email/);
  });

  it('refuses a provider that is not an organization\'s, and an organization with SSO off', async () => {
    await rejects(preSignUpHandler(preSignUp('okta_00u1', { email: 'ann@acme.example' })), /Unknown identity provider/);
    await rejects(preSignUpHandler(preSignUp('roster-org-999_00u1', { email: 'ann@acme.example' })), /not enabled/);
  });

  it('lets Roster\'s own account creation pass', async () => {
    const e = preSignUp('ann@acme.example', { email: 'ann@acme.example' }, 'PreSignUp_AdminCreateUser');
    expect(await preSignUpHandler(structuredClone(e))).toEqual(e);
  });
});

describe('InboundFederation_ExternalProvider', () => {
  it('keeps the attributes as they are and records whether the groups attribute came', async () => {
    const out = await inbound(inboundFederation(A, '00u1rec', { email: 'rec@acme.example', groups: 'Reviewers' }));
    expect(out.response).toEqual({ userAttributesToMap: {} });
    expect(await getItem(db, keys.samlSignIn('roster-org-1_00u1rec'))).toMatchObject({ groups_present: true, org_id: 1 });
    await inbound(inboundFederation(A, '00u1rec', { email: 'rec@acme.example' }));
    expect(await getItem(db, keys.samlSignIn('roster-org-1_00u1rec'))).toMatchObject({ groups_present: false });
  });

  it('refuses an asserted email outside the organization\'s domains before Cognito writes the profile', async () => {
    await rejects(inbound(inboundFederation(A, '00u1evil', { email: 'bob@beta.example' })), /not one of this organization's SSO domains/);
    expect(await getItem(db, keys.samlSignIn('roster-org-1_00u1evil'))).toBeUndefined();
  });

  it('leaves other providers\' sign-ins alone', async () => {
    const e = inboundFederation('Google', '1045566', {});
    e.request.providerType = 'Google';
    expect((await inbound(e)).response).toEqual({ userAttributesToMap: {} });
  });
});

describe('TokenGeneration_HostedAuth: every federated sign-in', () => {
  it('provisions on the first sign-in with the default role, then the mappings: Reviewer, the mapped workspace, role source saml', async () => {
    const out = await signIn('00u1kim', { email: 'Kim@Acme.example', groups: 'Reviewers' }, { email: 'Kim@Acme.example', given_name: 'Kim', family_name: 'Park', 'custom:groups': 'Reviewers' });
    const m = (await member(1, 'kim@acme.example'))!;
    expect(m).toMatchObject({ role: 'RE', role_source: 'saml', deleted_at: null });
    expect(m.user).toMatchObject({ email: 'kim@acme.example', first_name: 'Kim', last_name: 'Park' });
    expect(await getItem(db, keys.workspaceMember(1, medical, m.user_id))).toBeDefined();
    expect(out.response.claimsAndScopeOverrideDetails).toEqual({
      idTokenGeneration: { claimsToAddOrOverride: { email: 'kim@acme.example', roster_org: '1' } },
      accessTokenGeneration: { claimsToAddOrOverride: { email: 'kim@acme.example', roster_org: '1' } },
    });
    const claim = await getItem(db, keys.email('kim@acme.example'));
    expect(claim!.active_organization).toBe(1);
  });

  it('reads groups as Cognito flattens them: "[a, b]" with encoded items', async () => {
    await signIn('00u1lee', { email: 'lee@acme.example', groups: 'x' }, { email: 'lee@acme.example', 'custom:groups': '[Staff, Scanners, R%26D]' });
    const m = (await member(1, 'lee@acme.example'))!;
    // No role group: Deactivated (manual role management off); the project group still maps.
    expect(m.role).toBe('DI');
    expect(await getItem(db, keys.projectMember(1, project, m.user_id))).toBeDefined();
  });

  it('re-evaluates on a later sign-in: the groups attribute missing means no groups (Cognito\'s stale value is ignored) → Deactivated, out of the workspace', async () => {
    await signIn('00u1joe', { email: 'joe@acme.example', groups: 'Reviewers' }, { email: 'joe@acme.example', 'custom:groups': 'Reviewers' });
    const joe = (await member(1, 'joe@acme.example'))!;
    expect(joe.role).toBe('RE');
    // Cognito keeps the old custom:groups when the assertion leaves the attribute out.
    await signIn('00u1joe', { email: 'joe@acme.example' }, { email: 'joe@acme.example', 'custom:groups': 'Reviewers' });
    expect((await member(1, 'joe@acme.example'))!.role).toBe('DI');
    expect(await getItem(db, keys.workspaceMember(1, medical, joe.user_id))).toBeUndefined();
  });

  it('leaves the role alone under manual role management, and updates the names', async () => {
    const idp = new CognitoSamlIdentityProviders(new CognitoIdentityProviderClient({ endpoint: pool.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }), pool.userPoolId, pool.clientId);
    await signIn('00u1mia', { email: 'mia@acme.example', groups: 'Reviewers' }, { email: 'mia@acme.example', given_name: 'Mia', 'custom:groups': 'Reviewers' });
    await updateSamlSettings(db, owner, { manual_role_management: true }, { idp });
    try {
      await signIn('00u1mia', { email: 'mia@acme.example', groups: '' }, { email: 'mia@acme.example', given_name: 'Mia-Rose', 'custom:groups': '[]' });
      const m = (await member(1, 'mia@acme.example'))!;
      expect(m.role).toBe('RE');
      expect(m.user.first_name).toBe('Mia-Rose');
      expect((await getItem(db, keys.user(m.user_id)))!.first_name).toBe('Mia-Rose');
    } finally {
      await updateSamlSettings(db, owner, { manual_role_management: false }, { idp });
    }
  });

  it('links an existing Roster user by email: a membership here, their other membership and active organization untouched', async () => {
    const beta = await addMember(db, betaOrg, 'AN', 'sam@acme.example');
    const out = await signIn('00u1sam', { email: 'sam@acme.example', groups: 'Admins' }, { email: 'sam@acme.example', 'custom:groups': 'Admins' });
    // The session is bound to organization 1, whose IdP signed Sam in.
    expect(out.response.claimsAndScopeOverrideDetails?.accessTokenGeneration?.claimsToAddOrOverride).toEqual({ email: 'sam@acme.example', roster_org: '1' });
    expect(await member(1, 'sam@acme.example')).toMatchObject({ user_id: beta.userId, role: 'AD', role_source: 'saml' });
    expect(await member(betaOrg, 'sam@acme.example')).toMatchObject({ role: 'AN' });
    expect((await getItem(db, keys.email('sam@acme.example')))!.active_organization).toBe(betaOrg);
  });

  it('never signs anyone into another organization: org A\'s IdP asserting a user of B is refused, nothing written', async () => {
    await rejects(preTokenHandler(preToken('roster-org-1_00u1bob', { email: 'bob@beta.example', 'custom:groups': 'Admins' })), /not one of this organization's SSO domains/);
    expect(await getItem(db, keys.email('bob@beta.example'))).toBeUndefined();
    // B's own IdP signs Bob into B.
    await signIn('00u1bob', { email: 'bob@beta.example' }, { email: 'bob@beta.example' }, B);
    expect(await member(betaOrg, 'bob@beta.example')).toMatchObject({ role: 'AN', role_source: 'saml' });
    expect(await member(1, 'bob@beta.example')).toBeUndefined();
  });

  it('on a refresh only re-checks that SSO is on and gives the email claim; password users\' tokens are left alone', async () => {
    const r = await preTokenHandler(preToken('roster-org-1_00u1kim', { email: 'kim@acme.example' }, 'TokenGeneration_RefreshTokens'));
    expect(r.response.claimsAndScopeOverrideDetails?.accessTokenGeneration?.claimsToAddOrOverride).toEqual({ email: 'kim@acme.example', roster_org: '1' });
    const pw = preToken('owner@example.com', { email: 'owner@example.com' }, 'TokenGeneration_Authentication');
    expect((await preTokenHandler(structuredClone(pw))).response).toEqual(pw.response);
    await rejects(preTokenHandler(preToken('roster-org-999_x', { email: 'kim@acme.example' }, 'TokenGeneration_RefreshTokens')), /not enabled/);
  });

  it('stamps the changes as SAML\'s, by the person signing in, for the activity log', async () => {
    const m = (await member(1, 'kim@acme.example'))!;
    expect(m._ctx).toMatchObject({ source: 'saml', organization: 1, actor_email: 'kim@acme.example' });
    const ws = await queryAll(db, { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :sk)', ExpressionAttributeValues: { ':pk': keys.organization(1).PK, ':sk': `WSM#` } });
    expect(ws.find((w) => w.user_id === m.user_id)!._ctx).toMatchObject({ source: 'saml' });
  });
});

describe('a federated session reaches its membership', () => {
  let jwks: Server;
  let issuer: string;
  let sign: (claims: Record<string, unknown>) => Promise<string>;
  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', () => r()));
    issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/${pool.userPoolId}`;
    sign = (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(issuer).setIssuedAt().setExpirationTime('1h').sign(privateKey);
  });
  afterAll(async () => {
    jwks?.closeAllConnections();
    await new Promise((r) => jwks?.close(r));
  });

  it('in two reads: the token\'s email claim → the email item (active organization) → the membership', async () => {
    const verify = cognitoVerifier({ userPoolId: pool.userPoolId, clientId: 'api-client', ssoClientId: pool.clientId, issuer });
    const jwt = await sign({ token_use: 'access', client_id: pool.clientId, username: 'roster-org-1_00u1kim', email: 'kim@acme.example', roster_org: '1', jti: 'j1' });
    const counter = newRoundTrips();
    const a = await roundTrips.run(counter, () => authenticate(db, `Bearer ${jwt}`, { access: async () => { throw new Error('unused'); }, cognito: verify }));
    const kim = (await member(1, 'kim@acme.example'))!;
    expect(a.principal).toMatchObject({ userId: kim.user_id, orgId: 1, role: 'RE', via: 'cognito' });
    expect(counter).toMatchObject({ calls: 2, trips: 2 });
    // A token of another app client is refused.

    const foreign = await sign({ token_use: 'access', client_id: 'someone-else', username: 'roster-org-1_00u1kim', email: 'kim@acme.example' });
    await expect(authenticate(db, `Bearer ${foreign}`, { access: async () => { throw new Error('unused'); }, cognito: verify })).rejects.toThrow(/not valid/);
  });

  it('acts only in the organization whose IdP signed the person in, whatever their active organization', async () => {
    const verify = cognitoVerifier({ userPoolId: pool.userPoolId, clientId: 'api-client', ssoClientId: pool.clientId, issuer });
    const verifiers = { access: async () => { throw new Error('unused'); }, cognito: verify };
    const sam = (await member(1, 'sam@acme.example'))!;
    // Sam's active organization is Beta (where they are AN); the SSO session through org 1 is in org 1.
    const a = await authenticate(db, `Bearer ${await sign({ token_use: 'access', client_id: pool.clientId, username: 'roster-org-1_00u1sam', email: 'sam@acme.example', roster_org: '1' })}`, verifiers);
    expect(a.principal).toMatchObject({ userId: sam.user_id, orgId: 1, role: 'AD' });
    // Bound to an organization they are no member of: refused, not moved to another one.
    const nowhere = await sign({ token_use: 'access', client_id: pool.clientId, username: `roster-org-${betaOrg}_00u1kim`, email: 'kim@acme.example', roster_org: String(betaOrg) });
    await expect(authenticate(db, `Bearer ${nowhere}`, verifiers)).rejects.toThrow(/inactive or deleted/);
    const junk = await sign({ token_use: 'access', client_id: pool.clientId, username: 'roster-org-1_00u1kim', email: 'kim@acme.example', roster_org: '1; DROP' });
    await expect(authenticate(db, `Bearer ${junk}`, verifiers)).rejects.toThrow(/not valid/);
  });
});
