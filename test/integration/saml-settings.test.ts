import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createWorkspace } from '../../lib/access/workspaces.js';
import { type Db, getItem } from '../../lib/core/db.js';
import { entryOf } from '../../lib/audit/activity.js';
import { ConflictError, ForbiddenError, ServiceUnavailableError, ValidationError } from '../../lib/core/errors.js';
import type { Principal } from '../../lib/core/model.js';
import { keys } from '../../lib/core/table.js';
import { CognitoSamlIdentityProviders } from '../../lib/federation/saml/idp.js';
import { getSamlSettings, resetSamlSettings, serviceProviderFromEnv, settingsView, updateSamlSettings } from '../../lib/federation/saml/settings.js';
import { validateDomain } from '../../lib/federation/saml/domains.js';
import { checkCertificates, samlUpkeep } from '../../lib/federation/saml/upkeep.js';
import { type IdpStandIn, startIdpStandIn } from '../support/cognito-idp.js';
import { addMember, bootstrapOrg, freshTable, otherOrg } from '../support/db.js';
import { idpMetadata, selfSignedCert } from '../support/saml.js';

let db: Db;
let pool: IdpStandIn;
let idp: CognitoSamlIdentityProviders;
let server: Server;
let metadataUrl: string;
let policy: { allowHttp: boolean; loopbackHosts: string[] };
const owner: Principal = { userId: 1, orgId: 1, role: 'OW', via: 'token', overrides: {} };
let other: { orgId: number; owner: { userId: number } };
let otherP: Principal;
const cert = selfSignedCert(365, 'okta.acme.example');
const xml = idpMetadata({ entityId: 'http://www.okta.com/exk1', certs: [{ b64: cert.b64 }] });

async function refused<T extends Error>(p: Promise<unknown>, type: new (...a: never[]) => T): Promise<T> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(type);
  return err as T;
}

beforeAll(async () => {
  db = await freshTable('saml');
  await bootstrapOrg(db);
  other = await otherOrg(db, 'Beta');
  otherP = { userId: other.owner.userId, orgId: other.orgId, role: 'OW', via: 'token', overrides: {} };
  await createWorkspace(db, owner, { title: 'Medical' });
  pool = await startIdpStandIn();
  idp = new CognitoSamlIdentityProviders(new CognitoIdentityProviderClient({ endpoint: pool.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }), pool.userPoolId, pool.clientId);
  server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/xml' }).end(xml));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  metadataUrl = `http://127.0.0.1:${port}/metadata`;
  policy = { allowHttp: true, loopbackHosts: [`127.0.0.1:${port}`] };
});
afterAll(async () => {
  await pool?.stop();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

describe('saving SAML settings', () => {
  beforeEach(async () => {
    await resetSamlSettings(db, owner, { idp });
    await resetSamlSettings(db, otherP, { idp });
  });

  it('creates the IdP in the pool with the metadata, attribute mapping and domains, and enables it on the SSO client keeping the client\'s whole configuration', async () => {
    const before = structuredClone(pool.clients.get(pool.clientId)!);
    const s = await updateSamlSettings(db, owner, { domain: 'acme.example,Corp.Acme.example', metadata_xml: xml, idp_provider: 'okta' }, { idp });
    expect(s.enabled).toBe(true);
    expect(s.certificates).toHaveLength(1);
    const p = pool.providers.get('roster-org-1')!;
    expect(p.ProviderType).toBe('SAML');
    expect(p.ProviderDetails).toEqual({ MetadataFile: xml, IDPInit: 'true', IDPSignout: 'false' });
    expect(p.AttributeMapping).toEqual({ email: 'email', given_name: 'firstName', family_name: 'lastName', 'custom:groups': 'groups' });
    expect(p.IdpIdentifiers).toEqual(['acme.example', 'corp.acme.example']);
    const after = pool.clients.get(pool.clientId)!;
    expect(after.SupportedIdentityProviders).toEqual(['COGNITO', 'roster-org-1']);
    // Everything else the client had survives the Update that resets omitted fields.
    for (const f of ['AllowedOAuthFlows', 'AllowedOAuthScopes', 'AllowedOAuthFlowsUserPoolClient', 'CallbackURLs', 'ExplicitAuthFlows', 'EnableTokenRevocation', 'AccessTokenValidity', 'TokenValidityUnits', 'ClientName']) {
      expect(after[f], f).toEqual(before[f]);
    }
  });

  it('updates the IdP in place (same provider name) when the settings change, by metadata URL now', async () => {
    await updateSamlSettings(db, owner, { domain: 'acme.example', metadata_xml: xml }, { idp });
    pool.calls.length = 0;
    const s = await updateSamlSettings(db, owner, { metadata_url: metadataUrl, mapping_groups: 'memberOf' }, { idp, fetchPolicy: policy });
    expect(s.metadata_xml).toBe('');
    expect(pool.calls).toContain('UpdateIdentityProvider');
    expect(pool.calls).not.toContain('CreateIdentityProvider');
    // Already enabled on the client: no client write.
    expect(pool.calls).not.toContain('UpdateUserPoolClient');
    expect(pool.providers.get('roster-org-1')!.ProviderDetails.MetadataURL).toBe(metadataUrl);
    expect(pool.providers.get('roster-org-1')!.AttributeMapping['custom:groups']).toBe('memberOf');
  });

  it('is a partial update: fields left out keep their values, a preset sets the attribute names it implies unless named', async () => {
    await updateSamlSettings(db, owner, { domain: 'acme.example', metadata_xml: xml, idp_provider: 'azure', mapping_groups: 'roles' }, { idp });
    const s = await updateSamlSettings(db, owner, { roles_groups: [['Reviewer', 'Reviewers']], workspaces_groups: [['Medical', 'Reviewers']], manual_role_management: true }, { idp });
    expect(s.domains).toEqual(['acme.example']);
    expect([s.mapping_email, s.mapping_first_name, s.mapping_last_name, s.mapping_groups]).toEqual(['emailAddress', 'givenName', 'surname', 'roles']);
    expect(s.mappings.roles_groups).toEqual([['Reviewer', 'Reviewers']]);
    expect(s.mappings.manual_role_management).toBe(true);
    // Only the mappings changed: nothing to tell Cognito.
    pool.calls.length = 0;
    await updateSamlSettings(db, owner, { roles_groups: [['Reviewer', 'Reviewers'], ['Manager', 'Leads']] }, { idp });
    expect(pool.calls).toEqual([]);
    const view = settingsView(await getSamlSettings(db, 1), { domainUrl: 'https://roster.auth.us-east-1.amazoncognito.com', userPoolId: pool.userPoolId, clientId: pool.clientId, callbackUrl: 'https://app.acme.example/sso/callback' });
    expect(view.acs_url).toBe('https://roster.auth.us-east-1.amazoncognito.com/saml2/idpresponse');
    expect(view.sp_entity_id).toBe(`urn:amazon:cognito:sp:${pool.userPoolId}`);
    const login = new URL(view.login_url!);
    expect(Object.fromEntries(login.searchParams)).toEqual({ identity_provider: 'roster-org-1', response_type: 'code', client_id: pool.clientId, redirect_uri: 'https://app.acme.example/sso/callback', scope: 'openid email profile' });
    expect(view.domain).toBe('acme.example');
    expect(view.roles_groups).toEqual([['Reviewer', 'Reviewers'], ['Manager', 'Leads']]);
  });

  it('refuses a free-mail domain, an unknown preset, an unknown workspace and both kinds of metadata, writing nothing', async () => {
    const version = (await getSamlSettings(db, 1)).version;
    const e = await refused(updateSamlSettings(db, owner, { domain: 'gmail.com', idp_provider: 'nope', metadata_url: 'https://x.acme.example/m', metadata_xml: xml }, { idp }), ValidationError);
    expect(Object.keys(e.extra.validation_errors as object).sort()).toEqual(['domain', 'idp_provider', 'metadata_url']);
    await refused(updateSamlSettings(db, owner, { domain: 'acme.example', workspaces_groups: [['Nope', 'g']] }, { idp }), ValidationError);
    expect((await getSamlSettings(db, 1)).version).toBe(version);
    expect((await getSamlSettings(db, 1)).domains).toEqual([]);
    expect(await getItem(db, keys.ssoDomain('acme.example'))).toBeUndefined();
    expect(pool.providers.has('roster-org-1')).toBe(false);
  });

  it('refuses a domain another organization claims (409), both when saving and when validating it', async () => {
    await updateSamlSettings(db, otherP, { domain: 'beta.example' }, { idp });
    const e = await refused(updateSamlSettings(db, owner, { domain: 'acme.example,beta.example', metadata_xml: xml }, { idp }), ConflictError);
    expect(e.detail).toMatch(/beta\.example/);
    expect((await getSamlSettings(db, 1)).domains).toEqual([]);
    expect(await getItem(db, keys.ssoDomain('acme.example'))).toBeUndefined();
    expect(pool.providers.has('roster-org-1')).toBe(false);
    await refused(validateDomain(db, 1, 'Beta.example'), ConflictError);
    expect(await validateDomain(db, other.orgId, 'beta.example')).toEqual({ valid: true, domain: 'beta.example' });
    await refused(validateDomain(db, 1, 'gmail.com'), ValidationError);
  });

  it('gives a domain to exactly one of two organizations claiming it at the same moment', async () => {
    const results = await Promise.allSettled([
      updateSamlSettings(db, owner, { domain: 'race.example' }, { idp }),
      updateSamlSettings(db, otherP, { domain: 'race.example' }, { idp }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(ConflictError);
    const claim = await getItem(db, keys.ssoDomain('race.example'));
    const winner = results[0].status === 'fulfilled' ? 1 : other.orgId;
    expect(claim!.orgId).toBe(winner);
    expect((await getSamlSettings(db, winner === 1 ? other.orgId : 1)).domains).toEqual([]);
  });

  it('keeps both organizations\' IdPs on the SSO client when they are saved at the same moment (read back, redone)', async () => {
    pool.describeDelayMs = 40;
    try {
      await Promise.all([
        updateSamlSettings(db, owner, { domain: 'acme.example', metadata_xml: xml }, { idp }),
        updateSamlSettings(db, otherP, { domain: 'beta.example', metadata_xml: xml }, { idp }),
      ]);
    } finally {
      pool.describeDelayMs = 0;
    }
    expect([...pool.clients.get(pool.clientId)!.SupportedIdentityProviders].sort()).toEqual(['COGNITO', 'roster-org-1', `roster-org-${other.orgId}`]);
  });

  it('puts the table back when Cognito refuses the IdP, and names the field', async () => {
    await updateSamlSettings(db, owner, { domain: 'acme.example', metadata_xml: xml }, { idp });
    const before = await getSamlSettings(db, 1);
    pool.failNext('UpdateIdentityProvider', 'InvalidParameterException', 'Invalid metadata document');
    const e = await refused(updateSamlSettings(db, owner, { domain: 'acme.example,new.example' }, { idp }), ValidationError);
    expect(Object.keys(e.extra.validation_errors as object)).toEqual(['metadata']);
    const after = await getSamlSettings(db, 1);
    expect(after.domains).toEqual(before.domains);
    expect(await getItem(db, keys.ssoDomain('new.example'))).toBeUndefined();
    // The pool's IdP quota (the SDK retries this class of error; the quota does not go away).
    pool.failNext('CreateIdentityProvider', 'LimitExceededException', 'quota', 10);
    await resetSamlSettings(db, otherP, { idp });
    await refused(updateSamlSettings(db, otherP, { domain: 'beta.example', metadata_xml: xml }, { idp }), ServiceUnavailableError);
    expect((await getSamlSettings(db, other.orgId)).enabled).toBe(false);
    pool.failNext('CreateIdentityProvider', 'LimitExceededException', 'quota', 0);
  });

  it('resets: the IdP leaves the client and the pool, the domains are free again, the record stays', async () => {
    await updateSamlSettings(db, owner, { domain: 'acme.example', metadata_xml: xml, roles_groups: [['Reviewer', 'R']] }, { idp });
    await resetSamlSettings(db, owner, { idp });
    expect(pool.providers.has('roster-org-1')).toBe(false);
    expect(pool.clients.get(pool.clientId)!.SupportedIdentityProviders).toEqual(['COGNITO']);
    const s = await getSamlSettings(db, 1);
    expect([s.enabled, s.domains, s.metadata_xml, s.mappings.roles_groups, s.mapping_email]).toEqual([false, [], '', [], 'Email']);
    expect(await getItem(db, keys.samlSettings(1))).toBeDefined();
    expect((await updateSamlSettings(db, otherP, { domain: 'acme.example' }, { idp })).domains).toEqual(['acme.example']);
  });

  it('is for Owners and Administrators only', async () => {
    for (const role of ['MA', 'RE', 'AN'] as const) {
      const m = await addMember(db, 1, role);
      const p: Principal = { userId: m.userId, orgId: 1, role, via: 'token', overrides: {} };
      await refused(updateSamlSettings(db, p, { domain: 'acme.example' }, { idp }), ForbiddenError);
      await refused(resetSamlSettings(db, p, { idp }), ForbiddenError);
    }
    const ad = await addMember(db, 1, 'AD');
    expect((await updateSamlSettings(db, { userId: ad.userId, orgId: 1, role: 'AD', via: 'token', overrides: {} }, { domain: 'acme.example' }, { idp })).domains).toEqual(['acme.example']);
  });
});

describe('SAML settings in the activity log', () => {
  it('logs a change with what changed, the metadata as its hash only', async () => {
    const oldImage = { PK: 'ORG#0000000001', SK: 'SAML', type: 'saml_settings', domains: [], enabled: false, metadata_xml: '', metadata_sha256: null, version: 1 };
    const newImage = { ...oldImage, domains: ['acme.example'], enabled: true, metadata_xml: xml, metadata_sha256: 'ab12', certificates: [{}], version: 2 };
    const e = entryOf({ eventId: 'e1', eventName: 'MODIFY', oldImage, newImage })!;
    expect(e.action).toBe('saml_settings.enabled');
    expect(e.organization).toBe(1);
    expect(e.after).toEqual({ domains: ['acme.example'], enabled: true, metadata_sha256: 'ab12' });
    expect(JSON.stringify(e)).not.toContain('EntityDescriptor');
    expect(entryOf({ eventId: 'e2', eventName: 'MODIFY', oldImage: newImage, newImage: { ...oldImage, version: 3 } })!.action).toBe('saml_settings.reset');
    expect(entryOf({ eventId: 'e3', eventName: 'MODIFY', oldImage: newImage, newImage: { ...newImage, mapping_groups: 'x' } })!.action).toBe('saml_settings.updated');
  });
});

describe('certificate expiry', () => {
  it('records one warning per signing certificate 30 days or less from expiry, once', async () => {
    const soon = selfSignedCert(20, 'soon.acme.example');
    await resetSamlSettings(db, owner, { idp });
    await updateSamlSettings(db, owner, { domain: 'acme.example', metadata_xml: idpMetadata({ certs: [{ b64: soon.b64 }, { b64: cert.b64 }] }) }, { idp });
    const s = await getSamlSettings(db, 1);
    expect(await checkCertificates(db, s)).toBe(1);
    expect(await checkCertificates(db, s)).toBe(0);
    const fp = s.certificates.find((c) => c.subject.includes('soon'))!.fingerprint;
    const warning = await getItem(db, keys.samlCertificateWarning(1, fp));
    expect(warning).toMatchObject({ type: 'saml_certificate_warning', subject: 'CN=soon.acme.example', days_left: 20 });
    const e = entryOf({ eventId: 'w', eventName: 'INSERT', newImage: warning! })!;
    expect(e.action).toBe('saml_certificate.expiring');
    expect(e.organization).toBe(1);
    // 340 days on, the other certificate is close to expiry too.
    expect(await checkCertificates(db, s, new Date(Date.now() + 340 * 86_400_000))).toBe(1);
  });
});

describe('SAML upkeep', () => {
  it('puts organizations\' IdPs back on the SSO client after a stack update reset its providers', async () => {
    await updateSamlSettings(db, owner, { domain: 'acme.example', metadata_xml: xml }, { idp });
    const c = pool.clients.get(pool.clientId)!;
    // What a CloudFormation update of the client does: the template's list only.
    c.SupportedIdentityProviders = ['COGNITO'];
    const done = await samlUpkeep(db, { idp, policy });
    expect(done).toMatchObject({ organizations: 1, reenabled: 1 });
    expect(pool.clients.get(pool.clientId)!.SupportedIdentityProviders).toEqual(['COGNITO', 'roster-org-1']);
    expect(pool.clients.get(pool.clientId)!.CallbackURLs).toEqual(c.CallbackURLs);
    expect((await samlUpkeep(db, { idp, policy })).reenabled).toBe(0);
  });
});

describe('the SP values from the environment', () => {
  it('reads the pool domain, pool, SSO client and callback', () => {
    expect(serviceProviderFromEnv({ COGNITO_DOMAIN_URL: 'https://d.example/', COGNITO_USER_POOL_ID: 'p', COGNITO_SSO_CLIENT_ID: 'c', ROSTER_SSO_CALLBACK_URL: 'https://cb' })).toEqual({ domainUrl: 'https://d.example', userPoolId: 'p', clientId: 'c', callbackUrl: 'https://cb' });
  });
});
