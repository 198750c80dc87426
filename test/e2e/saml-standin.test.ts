import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import {
  CreateIdentityProviderCommand,
  DeleteIdentityProviderCommand,
  DescribeIdentityProviderCommand,
  DescribeUserPoolClientCommand,
  GetIdentityProviderByIdentifierCommand,
  ListIdentityProvidersCommand,
  UpdateIdentityProviderCommand,
  UpdateUserPoolClientCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cognitoVerifier } from '../../lib/identity/cognito.js';
import { startFederation } from '../../infra/local/federation/server.js';
import { localCognitoClient } from '../../infra/local/cognito.js';
import type { TriggerConfig } from '../../infra/local/federation/triggers.js';
import { startTestRoster } from '../support/roster.js';
import { TestIdp, addProvider, cognito, decodeJwt, poolUser, poolUsernames, postResponse, redeem, signInOverHttp, startSignIn } from '../support/saml.js';

// The Cognito stand-in on its own terms: the IdP API as AWS documents it, and federated sign-ins
// through the hosted endpoints with recording triggers (Roster's own triggers: saml-flow.test.ts).
const events: any[] = [];
let refuseSignUp: string | undefined;
const record = async (e: any) => {
  events.push(structuredClone(e));
  if (e.triggerSource === 'PreSignUp_ExternalProvider' && refuseSignUp) throw new Error(refuseSignUp);
  if (e.triggerSource === 'TokenGeneration_HostedAuth') e.response.claimsAndScopeOverrideDetails = { accessTokenGeneration: { claimsToAddOrOverride: { email: e.request.userAttributes.email } } };
  return e;
};
const triggers: TriggerConfig = {
  handlers: { InboundFederation: record, PreSignUp: record, PostConfirmation: record, PreAuthentication: record, PostAuthentication: record, PreTokenGeneration: record },
  preTokenVersion: 'V2_0',
};

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let pool: Awaited<ReturnType<typeof startTestRoster>>['cognito'];
const idp = new TestIdp('https://idp.acme.test/entity');

beforeAll(async () => {
  roster = await startTestRoster({ cognitoTriggers: triggers });
  pool = roster.cognito;
  await addProvider(pool, 'acme', idp, { identifiers: ['acme.test'] });
});
afterAll(() => roster?.stop());

const awsError = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message };
  }
  throw new Error('the call succeeded');
};

describe('identity providers (the AWS JSON API the stand-in answers in front of cognito-local)', () => {
  it('creates, describes, lists, updates and deletes a SAML provider, keeping it on disk', async () => {
    const c = cognito(pool);
    const other = new TestIdp('https://idp.other.test');
    const created = await c.send(new CreateIdentityProviderCommand({ UserPoolId: pool.userPoolId, ProviderName: 'other-idp', ProviderType: 'SAML', ProviderDetails: { MetadataFile: other.metadata() }, AttributeMapping: { email: 'mail' }, IdpIdentifiers: ['other.test'] }));
    expect(created.IdentityProvider).toMatchObject({ ProviderName: 'other-idp', ProviderType: 'SAML', IdpIdentifiers: ['other.test'], AttributeMapping: { email: 'mail' } });
    expect(created.IdentityProvider!.CreationDate).toBeInstanceOf(Date);
    const described = await c.send(new DescribeIdentityProviderCommand({ UserPoolId: pool.userPoolId, ProviderName: 'other-idp' }));
    expect(described.IdentityProvider!.ProviderDetails).toMatchObject({ SSORedirectBindingURI: expect.stringContaining('https://idp.test/') });
    expect((await c.send(new GetIdentityProviderByIdentifierCommand({ UserPoolId: pool.userPoolId, IdpIdentifier: 'OTHER.test' }))).IdentityProvider!.ProviderName).toBe('other-idp');
    const listed = await c.send(new ListIdentityProvidersCommand({ UserPoolId: pool.userPoolId }));
    expect(listed.Providers!.map((p) => p.ProviderName)).toEqual(['acme', 'other-idp']);
    expect(JSON.parse(readFileSync(join(roster.dataDir, 'federation', 'federation.json'), 'utf8')).providers).toHaveProperty([`${pool.userPoolId}/other-idp`]);
    // Update replaces what it is given and keeps the rest.
    const updated = await c.send(new UpdateIdentityProviderCommand({ UserPoolId: pool.userPoolId, ProviderName: 'other-idp', AttributeMapping: { email: 'Email' } }));
    expect(updated.IdentityProvider).toMatchObject({ AttributeMapping: { email: 'Email' }, IdpIdentifiers: ['other.test'] });
    await c.send(new DeleteIdentityProviderCommand({ UserPoolId: pool.userPoolId, ProviderName: 'other-idp' }));
    expect(await awsError(c.send(new DescribeIdentityProviderCommand({ UserPoolId: pool.userPoolId, ProviderName: 'other-idp' })))).toMatchObject({ name: 'ResourceNotFoundException' });
    c.destroy();
  });

  it('keeps providers and the SSO client across a restart of the stand-in (the same data dir)', async () => {
    const again = await startFederation({ port: 0, host: '127.0.0.1', dataDir: join(roster.dataDir, 'federation'), cognitoLocal: roster.cognitoLocal, userPoolId: pool.userPoolId, issuer: pool.issuer, region: 'us-east-1', triggers: { handlers: {} } });
    const c = localCognitoClient(again.url);
    try {
      expect(again.ssoClientId).toBe(pool.ssoClientId);
      expect((await c.send(new DescribeIdentityProviderCommand({ UserPoolId: pool.userPoolId, ProviderName: 'acme' }))).IdentityProvider).toMatchObject({ IdpIdentifiers: ['acme.test'] });
      // Its callback follows the new port, written through Describe → whole Update.
      const client = (await c.send(new DescribeUserPoolClientCommand({ UserPoolId: pool.userPoolId, ClientId: pool.ssoClientId }))).UserPoolClient!;
      expect(client).toMatchObject({ CallbackURLs: [again.callbackUrl], SupportedIdentityProviders: ['COGNITO', 'acme'], AllowedOAuthFlows: ['code'] });
    } finally {
      c.destroy();
      await again.stop();
    }
    // Back to this runtime's callback for the tests that follow.
    const c2 = cognito(pool);
    const cur = (await c2.send(new DescribeUserPoolClientCommand({ UserPoolId: pool.userPoolId, ClientId: pool.ssoClientId }))).UserPoolClient!;
    const { ClientSecret: _s, CreationDate: _c, LastModifiedDate: _l, ...writable } = cur;
    await c2.send(new UpdateUserPoolClientCommand({ ...writable, UserPoolId: pool.userPoolId, ClientId: pool.ssoClientId, CallbackURLs: [pool.callbackUrl] }));
    c2.destroy();
  });

  it('refuses what Cognito refuses, with its error names', async () => {
    const c = cognito(pool);
    const base = { UserPoolId: pool.userPoolId, ProviderType: 'SAML' as const, ProviderDetails: { MetadataFile: idp.metadata() } };
    expect(await awsError(c.send(new CreateIdentityProviderCommand({ ...base, ProviderName: 'acme' })))).toMatchObject({ name: 'DuplicateProviderException' });
    expect(await awsError(c.send(new CreateIdentityProviderCommand({ ...base, ProviderName: 'x'.repeat(33) })))).toMatchObject({ name: 'InvalidParameterException', message: expect.stringContaining('length') });
    expect(await awsError(c.send(new CreateIdentityProviderCommand({ ...base, ProviderName: '_bad' })))).toMatchObject({ name: 'InvalidParameterException' });
    expect(await awsError(c.send(new CreateIdentityProviderCommand({ ...base, ProviderName: 'ids', IdpIdentifiers: ['a'.repeat(41)] })))).toMatchObject({ name: 'InvalidParameterException' });
    expect(await awsError(c.send(new CreateIdentityProviderCommand({ ...base, ProviderName: 'ids', IdpIdentifiers: Array.from({ length: 51 }, (_, i) => `d${i}.test`) })))).toMatchObject({ name: 'InvalidParameterException' });
    expect(await awsError(c.send(new CreateIdentityProviderCommand({ ...base, ProviderName: 'ids', IdpIdentifiers: ['acme.test'] })))).toMatchObject({ name: 'InvalidParameterException', message: expect.stringContaining('acme') });
    expect(await awsError(c.send(new CreateIdentityProviderCommand({ ...base, ProviderName: 'meta', ProviderDetails: { MetadataFile: '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>' } })))).toMatchObject({ name: 'InvalidParameterException', message: expect.stringContaining('IDPSSODescriptor') });
    expect(await awsError(c.send(new CreateIdentityProviderCommand({ ...base, ProviderName: 'map', AttributeMapping: { 'custom:nope': 'x' } })))).toMatchObject({ name: 'InvalidParameterException' });
    expect(await awsError(c.send(new UpdateIdentityProviderCommand({ UserPoolId: pool.userPoolId, ProviderName: 'missing' })))).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(await awsError(c.send(new DeleteIdentityProviderCommand({ UserPoolId: 'us-east-1_nope', ProviderName: 'acme' })))).toMatchObject({ name: 'ResourceNotFoundException' });
    expect((await c.send(new ListIdentityProvidersCommand({ UserPoolId: pool.userPoolId }))).Providers!.map((p) => p.ProviderName)).toEqual(['acme']);
    c.destroy();
  });

  it('UpdateUserPoolClient resets every field it is not given, as Cognito does, and checks providers and callbacks', async () => {
    const c = cognito(pool);
    const before = (await c.send(new DescribeUserPoolClientCommand({ UserPoolId: pool.userPoolId, ClientId: pool.ssoClientId }))).UserPoolClient!;
    expect(before).toMatchObject({ SupportedIdentityProviders: ['COGNITO', 'acme'], CallbackURLs: [pool.callbackUrl], AllowedOAuthFlows: ['code'], AllowedOAuthFlowsUserPoolClient: true });
    expect(await awsError(c.send(new UpdateUserPoolClientCommand({ UserPoolId: pool.userPoolId, ClientId: pool.ssoClientId, SupportedIdentityProviders: ['nobody'] })))).toMatchObject({ name: 'InvalidParameterException', message: expect.stringContaining('nobody') });
    expect(await awsError(c.send(new UpdateUserPoolClientCommand({ UserPoolId: pool.userPoolId, ClientId: pool.ssoClientId, AllowedOAuthFlowsUserPoolClient: true, AllowedOAuthFlows: ['code'], AllowedOAuthScopes: ['openid'], CallbackURLs: ['http://evil.test/cb'] })))).toMatchObject({ name: 'InvalidParameterException' });
    // The naive call (only the provider list): the OAuth configuration is gone, so sign-ins stop.
    await c.send(new UpdateUserPoolClientCommand({ UserPoolId: pool.userPoolId, ClientId: pool.ssoClientId, SupportedIdentityProviders: ['COGNITO', 'acme'] }));
    const reset = (await c.send(new DescribeUserPoolClientCommand({ UserPoolId: pool.userPoolId, ClientId: pool.ssoClientId }))).UserPoolClient!;
    expect(reset.CallbackURLs).toBeUndefined();
    expect(reset.AllowedOAuthFlowsUserPoolClient).toBe(false);
    expect(reset.ExplicitAuthFlows).toEqual(['ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_CUSTOM_AUTH']);
    expect((await fetch(`${pool.endpoint}/oauth2/authorize?identity_provider=acme&response_type=code&client_id=${pool.ssoClientId}&redirect_uri=${encodeURIComponent(pool.callbackUrl)}`, { redirect: 'manual' })).status).toBe(400);
    // Writing the whole configuration back restores it.
    const { ClientSecret: _s, CreationDate: _c, LastModifiedDate: _l, ...writable } = before;
    await c.send(new UpdateUserPoolClientCommand({ ...writable, UserPoolId: pool.userPoolId, ClientId: pool.ssoClientId }));
    expect((await c.send(new DescribeUserPoolClientCommand({ UserPoolId: pool.userPoolId, ClientId: pool.ssoClientId }))).UserPoolClient).toMatchObject({ CallbackURLs: [pool.callbackUrl], ExplicitAuthFlows: before.ExplicitAuthFlows });
    c.destroy();
  });
});

describe('federated sign-in through the hosted endpoints', () => {
  it('redirects /oauth2/authorize to the IdP with an AuthnRequest for the pool, and checks client, redirect_uri and provider', async () => {
    const q = (p: Record<string, string>) => fetch(`${pool.endpoint}/oauth2/authorize?${new URLSearchParams({ response_type: 'code', client_id: pool.ssoClientId, redirect_uri: pool.callbackUrl, ...p })}`, { redirect: 'manual' });
    const ok = await q({ identity_provider: 'acme', state: 's' });
    expect(ok.status).toBe(302);
    const to = new URL(ok.headers.get('location')!);
    expect(to.origin + to.pathname).toBe('https://idp.test/https%3A%2F%2Fidp.acme.test%2Fentity/sso');
    expect(to.searchParams.get('SAMLRequest')).toBeTruthy();
    expect((await q({ idp_identifier: 'ACME.test' })).status).toBe(302);
    expect((await q({ identity_provider: 'acme', redirect_uri: 'https://evil.test/cb' })).status).toBe(400);
    expect((await q({ identity_provider: 'acme', client_id: 'nope' })).status).toBe(400);
    const unknown = await q({ identity_provider: 'nobody', state: 's2' });
    expect(unknown.status).toBe(302);
    expect(new URL(unknown.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    expect(new URL((await q({ identity_provider: 'acme', response_type: 'token' })).headers.get('location')!).searchParams.get('error')).toBe('unsupported_response_type');
  });

  it('first sign-in: PreSignUp_ExternalProvider before the user exists, then the user <provider>_<NameID> with mapped attributes, and tokens the Cognito verifier accepts', async () => {
    events.length = 0;
    const { requestId, relayState } = await startSignIn(pool, 'acme', 'state-42');
    const r = await postResponse(pool, idp.response(pool, { inResponseTo: requestId, nameId: 'U-1001', attributes: { Email: 'ada@acme.test', FirstName: 'Ada', LastName: 'Lovelace', Groups: ['Reviewers', 'Team A/B'] } }), relayState);
    expect(r.status).toBe(302);
    const back = new URL(r.location!);
    expect(back.origin + back.pathname).toBe(pool.callbackUrl);
    expect(back.searchParams.get('state')).toBe('state-42');
    const tokens = await redeem(pool, r.location!);

    expect(events.map((e) => e.triggerSource)).toEqual(['InboundFederation_ExternalProvider', 'PreSignUp_ExternalProvider', 'PostConfirmation_ConfirmSignUp', 'TokenGeneration_HostedAuth']);
    const [inbound, pre, post, token] = events;
    expect(inbound).toMatchObject({ userName: 'acme_u-1001', userPoolId: pool.userPoolId, callerContext: { clientId: pool.ssoClientId }, request: { providerName: 'acme', providerType: 'SAML', attributes: { samlResponse: { Email: 'ada@acme.test', Groups: '[Reviewers, Team+A%2FB]' } } } });
    expect(pre).toMatchObject({ version: '1', userName: 'acme_u-1001', request: { userAttributes: { email: 'ada@acme.test', given_name: 'Ada', family_name: 'Lovelace', 'custom:groups': '[Reviewers, Team+A%2FB]' } }, response: { autoConfirmUser: false } });
    expect(await poolUser(pool, 'acme_u-1001')).toMatchObject({ email: 'ada@acme.test', 'custom:groups': '[Reviewers, Team+A%2FB]', sub: expect.any(String) });
    expect(post.request.userAttributes).toMatchObject({ 'cognito:user_status': 'EXTERNAL_PROVIDER', sub: expect.any(String) });
    expect(JSON.parse(post.request.userAttributes.identities)).toEqual([expect.objectContaining({ userId: 'U-1001', providerName: 'acme', providerType: 'SAML', primary: true })]);
    expect(token).toMatchObject({ version: '2', request: { groupConfiguration: { groupsToOverride: [`${pool.userPoolId}_acme`] }, scopes: ['openid', 'email', 'profile'] } });

    const access = decodeJwt(tokens.access_token);
    expect(access).toMatchObject({ token_use: 'access', client_id: pool.ssoClientId, username: 'acme_u-1001', email: 'ada@acme.test', 'cognito:groups': [`${pool.userPoolId}_acme`], iss: pool.issuer });
    expect(decodeJwt(tokens.id_token)).toMatchObject({ token_use: 'id', aud: pool.ssoClientId, 'cognito:username': 'acme_u-1001', identities: [expect.objectContaining({ userId: 'U-1001' })] });
    // The same verifier Roster uses for Cognito's tokens (the issuer's JWKS, here cognito-local's).
    const verify = cognitoVerifier({ userPoolId: pool.userPoolId, clientId: pool.ssoClientId, issuer: pool.issuer });
    // Roster names a federated person by the email claim its pre-token trigger adds (here the recording one).
    expect((await verify(tokens.access_token)).username).toBe('ada@acme.test');
    // A code is redeemed once.
    const again = await fetch(`${pool.endpoint}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code')!, client_id: pool.ssoClientId, redirect_uri: pool.callbackUrl }) });
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({ error: 'invalid_grant' });
  });

  it('later sign-in: PreAuthentication and PostAuthentication; attributes present are updated, an absent one keeps its old value, a single value has no brackets', async () => {
    await signInOverHttp(pool, 'acme', idp, { nameId: 'U-2002', attributes: { Email: 'bob@acme.test', Groups: ['A', 'B'] } });
    events.length = 0;
    await signInOverHttp(pool, 'acme', idp, { nameId: 'U-2002', attributes: { Email: 'bob@acme.test', FirstName: 'Bob' } });
    expect(events.map((e) => e.triggerSource)).toEqual(['InboundFederation_ExternalProvider', 'PreAuthentication_Authentication', 'PostAuthentication_Authentication', 'TokenGeneration_HostedAuth']);
    expect(await poolUser(pool, 'acme_u-2002')).toMatchObject({ given_name: 'Bob', 'custom:groups': '[A, B]' });
    await signInOverHttp(pool, 'acme', idp, { nameId: 'U-2002', attributes: { Email: 'bob@acme.test', Groups: ['Solo group'] } });
    expect((await poolUser(pool, 'acme_u-2002'))!['custom:groups']).toBe('Solo group');
  });

  it('PKCE (S256): the code is redeemed only with the verifier; the nonce comes back in the ID token', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const q = new URLSearchParams({ identity_provider: 'acme', response_type: 'code', client_id: pool.ssoClientId, redirect_uri: pool.callbackUrl, code_challenge: challenge, code_challenge_method: 'S256', nonce: 'n-0S6' });
    const to = new URL((await fetch(`${pool.endpoint}/oauth2/authorize?${q}`, { redirect: 'manual' })).headers.get('location')!);
    const requestId = /ID="([^"]+)"/.exec(inflateRawSync(Buffer.from(to.searchParams.get('SAMLRequest')!, 'base64')).toString())![1]!;
    const r = await postResponse(pool, idp.response(pool, { inResponseTo: requestId, nameId: 'U-5005', attributes: { Email: 'pkce@acme.test' } }), to.searchParams.get('RelayState')!);
    const code = new URL(r.location!).searchParams.get('code')!;
    const token = (extra: Record<string, string>) =>
      fetch(`${pool.endpoint}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: pool.ssoClientId, redirect_uri: pool.callbackUrl, ...extra }) });
    expect((await token({})).status).toBe(400);
    expect((await token({ code_verifier: 'wrong' })).status).toBe(400);
    const ok = await token({ code_verifier: verifier });
    expect(ok.status).toBe(200);
    expect(decodeJwt(((await ok.json()) as { id_token: string }).id_token).nonce).toBe('n-0S6');
    const plain = await fetch(`${pool.endpoint}/oauth2/authorize?${new URLSearchParams({ ...Object.fromEntries(q), code_challenge_method: 'plain' })}`, { redirect: 'manual' });
    expect(new URL(plain.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
  });

  it('a trigger refusing the sign-up fails the sign-in with its message and creates no user', async () => {
    refuseSignUp = 'Email domain not allowed';
    try {
      const { requestId, relayState } = await startSignIn(pool, 'acme');
      const r = await postResponse(pool, idp.response(pool, { inResponseTo: requestId, nameId: 'U-3003', attributes: { Email: 'eve@elsewhere.test' } }), relayState);
      expect(r.status).toBe(400);
      expect(r.text).toContain('PreSignUp failed with error Email domain not allowed.');
      expect(await poolUsernames(pool)).not.toContain('acme_u-3003');
    } finally {
      refuseSignUp = undefined;
    }
  });

  it('a mapped value over 2,048 characters fails the sign-in with a clear message, writing nothing', async () => {
    const groups = Array.from({ length: 120 }, (_, i) => `group-number-${i}`);
    const { requestId, relayState } = await startSignIn(pool, 'acme');
    events.length = 0;
    const r = await postResponse(pool, idp.response(pool, { inResponseTo: requestId, nameId: 'U-4004', attributes: { Email: 'big@acme.test', Groups: groups } }), relayState);
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/custom:groups.*more than Cognito&#39;s limit of 2048/);
    expect(events.map((e) => e.triggerSource)).toEqual(['InboundFederation_ExternalProvider']);
    expect(await poolUser(pool, 'acme_u-4004')).toBeUndefined();
  });
});
