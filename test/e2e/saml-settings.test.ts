import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb, getItem } from '../../lib/core/db.js';
import { keys } from '../../lib/core/table.js';
import { addMember, otherOrg } from '../support/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;
let beta: { orgId: number; owner: { token: string } };

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  beta = await otherOrg(db, 'Beta');
});
afterAll(() => roster?.stop());

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('/api/saml/settings over HTTP', () => {
  it('answers LSE\'s SamlSettings fields with the defaults before anything is saved', async () => {
    const r = await call('GET', '/api/saml/settings', { token: OWNER_TOKEN });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      domain: '',
      metadata_url: '',
      metadata_xml: '',
      idp_provider: null,
      mapping_email: 'Email',
      mapping_first_name: 'FirstName',
      mapping_last_name: 'LastName',
      mapping_groups: 'Groups',
      roles_groups: [],
      workspaces_groups: [],
      projects_groups: [],
      manual_role_management: false,
      nameid_format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      token: 'roster-org-1',
      logout_url: null,
      enabled: false,
    });
  });

  it('saves a partial update (201) and logs it; SSO stays off without metadata', async () => {
    const r = await call('POST', '/api/saml/settings', { token: OWNER_TOKEN, body: { domain: 'Acme.example', idp_provider: 'okta', roles_groups: [['RE', 'Reviewers']] } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ domain: 'acme.example', idp_provider: 'okta', mapping_email: 'email', roles_groups: [['Reviewer', 'Reviewers']], enabled: false });
    expect((await call('GET', '/api/saml/settings', { token: OWNER_TOKEN })).body.domain).toBe('acme.example');
    let entries: { action: string; source: string; after: Record<string, unknown> | null }[] = [];
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await pause(200)) {
      entries = (await call('GET', '/api/activity-logs/?search=saml_settings', { token: OWNER_TOKEN })).body.data;
      if (entries.length) break;
    }
    expect(entries[0]).toMatchObject({ action: 'saml_settings.created', source: 'api', after: expect.objectContaining({ domains: ['acme.example'], idp_provider: 'okta' }) });
    expect(JSON.stringify(entries[0])).not.toContain('metadata_xml');
  });

  it('refuses gmail.com and a domain another organization holds, on validate-domain and on save, writing nothing', async () => {
    const gmail = await call('POST', '/api/saml/settings/validate-domain', { token: OWNER_TOKEN, body: { domain: 'gmail.com' } });
    expect(gmail.status).toBe(400);
    expect(gmail.body.validation_errors.domain[0]).toMatch(/public email domain/);
    expect((await call('POST', '/api/saml/settings', { token: beta.owner.token, body: { domain: 'beta.example' } })).status).toBe(201);
    const held = await call('POST', '/api/saml/settings/validate-domain', { token: OWNER_TOKEN, body: { domain: 'beta.example' } });
    expect(held.status).toBe(409);
    expect(held.body.detail).toMatch(/claimed for SSO by another organization/);
    const save = await call('POST', '/api/saml/settings', { token: OWNER_TOKEN, body: { domain: 'acme.example,beta.example' } });
    expect(save.status).toBe(409);
    expect((await call('GET', '/api/saml/settings', { token: OWNER_TOKEN })).body.domain).toBe('acme.example');
    expect((await getItem(db, keys.ssoDomain('beta.example')))!.orgId).toBe(beta.orgId);
    const ok = await call('POST', '/api/saml/settings/validate-domain', { token: OWNER_TOKEN, body: { domain: 'corp.acme.example' } });
    expect([ok.status, ok.body]).toEqual([200, { valid: true, domain: 'corp.acme.example' }]);
    const long = await call('POST', '/api/saml/settings/validate-domain', { token: OWNER_TOKEN, body: { domain: `${'a'.repeat(40)}.example` } });
    expect(long.status).toBe(400);
  });

  it('refuses metadata URLs to the instance metadata service and to private addresses, on validate-metadata-url and on save', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data/iam/security-credentials/', 'https://169.254.169.254/', 'https://10.0.0.5/metadata', 'https://192.168.1.10/idp.xml', 'https://[fd00::1]/m']) {
      const r = await call('POST', '/api/saml/settings/validate-metadata-url', { token: OWNER_TOKEN, body: { metadata_url: url } });
      expect(r.status, url).toBe(400);
      expect(r.body.validation_errors.metadata_url[0], url).toMatch(/public address/);
    }
    const save = await call('POST', '/api/saml/settings', { token: OWNER_TOKEN, body: { metadata_url: 'http://169.254.169.254/latest/meta-data/' } });
    expect(save.status).toBe(400);
    expect((await call('GET', '/api/saml/settings', { token: OWNER_TOKEN })).body.metadata_url).toBe('');
    // This runtime's own address is fetchable (its dev IdP lives there), but a page that is not metadata is refused.
    const own = await call('POST', '/api/saml/settings/validate-metadata-url', { token: OWNER_TOKEN, body: { metadata_url: `${roster.url}/api/docs/` } });
    expect(own.status).toBe(400);
    expect(own.body.validation_errors.metadata_url[0]).toMatch(/DTD|well-formed|EntityDescriptor/);
  });

  it('is for Owners and Administrators; bad input names the field', async () => {
    const an = await addMember(db, 1, 'AN');
    for (const [method, path, body] of [['GET', '/api/saml/settings', undefined], ['POST', '/api/saml/settings', { domain: 'x.acme.example' }], ['DELETE', '/api/saml/settings', undefined], ['POST', '/api/saml/settings/validate-domain', { domain: 'x.acme.example' }]] as const) {
      expect((await call(method, path, { token: an.token, ...(body ? { body } : {}) })).status, `${method} ${path}`).toBe(403);
    }
    const bad = await call('POST', '/api/saml/settings', { token: OWNER_TOKEN, body: { idp_provider: 'nope', mapping_email: '', roles_groups: [['Owner', 'x']] } });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.validation_errors).sort()).toEqual(['idp_provider', 'mapping_email']);
    const badMap = await call('POST', '/api/saml/settings', { token: OWNER_TOKEN, body: { roles_groups: [['Owner', 'x']] } });
    expect(badMap.status).toBe(400);
    expect(Object.keys(badMap.body.validation_errors)).toEqual(['roles_groups']);
  });

  it('resets (204): defaults again and the domains free for others', async () => {
    expect((await call('DELETE', '/api/saml/settings', { token: beta.owner.token })).status).toBe(204);
    expect((await call('GET', '/api/saml/settings', { token: beta.owner.token })).body.domain).toBe('');
    expect((await call('POST', '/api/saml/settings/validate-domain', { token: OWNER_TOKEN, body: { domain: 'beta.example' } })).status).toBe(200);
  });
});
