/**
 * SCIM over real HTTP against the local runtime: tokens, discovery, the Users resource in the shapes
 * Okta and Microsoft Entra ID send (notes-scim-idps.md §1–3), the lifecycle (active, DELETE,
 * provisioning again), other organizations, and bad input (always a SCIM 4xx). One roster per file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb, getItem } from '../../lib/core/db.js';
import { keys } from '../../lib/core/table.js';
import { resetLegacyToken } from '../../lib/org/tokens.js';
import { addMember, otherOrg } from '../support/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';
import { ENTERPRISE_URN, type ScimReply, oktaUser, patchOp, scimClient } from '../support/scim.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;
let token: string;
let scim: ReturnType<typeof scimClient>;

const unique = () => Math.random().toString(36).slice(2, 10);
const member = async (userId: number) => (await call('GET', `/api/organizations/1/memberships/${userId}/`, { token: OWNER_TOKEN })).body;
const created = async (body: unknown): Promise<ScimReply> => {
  const r = await scim('POST', '/Users', { body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r;
};

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  const t = await call('POST', '/api/scim/tokens', { token: OWNER_TOKEN });
  expect(t.status).toBe(201);
  token = t.body.token;
  scim = scimClient(roster.url, token);
});
afterAll(async () => roster?.stop());

describe('SCIM tokens', () => {
  it('are shown once, listed without secrets, and stored only as a hash', async () => {
    const list = await call('GET', '/api/scim/tokens', { token: OWNER_TOKEN });
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain(token);
    expect(list.body[0]).toMatchObject({ created_by: 1 });
    const listing = await getItem(db, keys.scimToken(1, list.body[0].id));
    expect(JSON.stringify(listing)).not.toContain(token);
  });

  it('are refused on every /api route, as Token and as Bearer', async () => {
    for (const authorization of [`Token ${token}`, `Bearer ${token}`]) {
      const r = await call('GET', '/api/current-user/whoami', { headers: { authorization } });
      expect(r.status).toBe(401);
    }
  });

  it('are for Owners and Administrators only', async () => {
    const annotator = await addMember(db, 1, 'AN');
    expect((await call('POST', '/api/scim/tokens', { token: annotator.token })).status).toBe(403);
    expect((await call('GET', '/api/scim/tokens', { token: annotator.token })).status).toBe(403);
  });

  it('enter the activity log when created and revoked, without their secret', async () => {
    const t = await call('POST', '/api/scim/tokens', { token: OWNER_TOKEN });
    await call('DELETE', `/api/scim/tokens/${t.body.id}`, { token: OWNER_TOKEN });
    let entries: { action: string; source: string; user_id: number }[] = [];
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      const logs = await call('GET', '/api/activity-logs/?page_size=500', { token: OWNER_TOKEN });
      entries = logs.body.data.filter((e: { resource_type: string }) => e.resource_type === 'scim_token');
      if (entries.some((e) => e.action === 'scim_token.revoked')) {
        expect(JSON.stringify(logs.body)).not.toContain(t.body.token);
        expect(JSON.stringify(logs.body)).not.toContain(t.body.display);
        break;
      }
    }
    expect(entries.map((e) => e.action)).toEqual(expect.arrayContaining(['scim_token.created', 'scim_token.revoked']));
    expect(entries.every((e) => e.source === 'api' && e.user_id === 1)).toBe(true);
  });

  it('are revoked at once', async () => {
    const t = await call('POST', '/api/scim/tokens', { token: OWNER_TOKEN });
    const other = scimClient(roster.url, t.body.token);
    expect((await other('GET', '/Users')).status).toBe(200);
    expect((await call('DELETE', `/api/scim/tokens/${t.body.id}`, { token: OWNER_TOKEN })).status).toBe(204);
    const refused = await other('GET', '/Users');
    expect(refused.status).toBe(401);
    expect(refused.body.status).toBe('401');
    expect((await call('DELETE', `/api/scim/tokens/${t.body.id}`, { token: OWNER_TOKEN })).status).toBe(404);
  });

  it('accepts the Owner\'s API token as Bearer (as LSE does), and no other member\'s', async () => {
    expect((await scimClient(roster.url, OWNER_TOKEN)('GET', '/Users')).status).toBe(200);
    const admin = await addMember(db, 1, 'AD');
    expect((await scimClient(roster.url, admin.token)('GET', '/Users')).status).toBe(401);
  });

  it('answers a missing or malformed credential 401 with status "401" (Okta step 11)', async () => {
    expect((await scim('GET', '/Users', { token: null })).status).toBe(401);
    const r = await scim('GET', '/Users?filter=userName%20eq%20%22x%40example.com%22', { headers: { authorization: 'non-token' } });
    expect(r.status).toBe(401);
    expect(r.body.status).toBe('401');
  });
});

describe('SCIM discovery', () => {
  it('advertises what Roster supports', async () => {
    const spc = await scim('GET', '/ServiceProviderConfig');
    expect(spc.body).toMatchObject({ patch: { supported: true }, bulk: { supported: false }, filter: { supported: true, maxResults: 1000 }, etag: { supported: true }, sort: { supported: false } });
    const types = await scim('GET', '/ResourceTypes');
    expect(types.body.Resources.map((r: { endpoint: string }) => r.endpoint)).toEqual(['/Users', '/Groups']);
    const schemas = await scim('GET', '/Schemas');
    expect(schemas.body.Resources.map((s: { name: string }) => s.name)).toEqual(['User', 'EnterpriseUser', 'Group']);
    expect((await scim('GET', `/Schemas/${ENTERPRISE_URN}`)).body.attributes.map((a: { name: string }) => a.name)).toContain('manager');
    expect((await scim('GET', '/Schemas/urn:nope')).status).toBe(404);
  });
});

describe('Okta', () => {
  it('passes the SPEC test\'s steps: list, get, 404s, zero-result filters, create, 409, case-insensitive userName', async () => {
    const email = `Runscope${unique()}@example.com`;
    const first = await created(oktaUser(`first${unique()}@example.com`));
    const list = await scim('GET', '/Users?count=1&startIndex=1');
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], startIndex: 1, itemsPerPage: 1 });
    expect(list.body.totalResults).toBeGreaterThanOrEqual(1);
    expect(list.body.Resources[0]).toMatchObject({ name: { givenName: expect.any(String), familyName: expect.any(String) }, active: true });
    expect((await scim('GET', `/Users/${first.body.id}`)).body.id).toBe(first.body.id);
    expect((await scim('GET', '/Users?filter=userName%20eq%20%22abcdefgh%40example.com%22')).body).toMatchObject({ totalResults: 0, Resources: [] });
    for (const id of ['010101001010101011001010101011', '00919288221112222']) {
      const r = await scim('GET', `/Users/${id}`);
      expect(r.status).toBe(404);
      expect(r.body.status).toBe('404');
    }
    const made = await created(oktaUser(email));
    expect(made.body).toMatchObject({ userName: email, active: true, name: { givenName: 'Given', familyName: 'Family' } });
    expect(made.headers.get('location')).toBe(made.body.meta.location);
    expect(made.headers.get('etag')).toBe(made.body.meta.version);
    const dup = await scim('POST', '/Users', { body: oktaUser(email), contentType: 'application/json' });
    expect(dup.status).toBe(409);
    expect(dup.body.scimType).toBe('uniqueness');
    const caps = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${email.toUpperCase()}"`)}`);
    expect(caps.body.totalResults).toBe(1);
    expect((await scim('GET', '/Groups')).status).toBe(200);
  });

  it('accepts a password, and never stores or echoes it', async () => {
    const r = await created(oktaUser(`pw${unique()}@example.com`, { password: 'Never-Echo-Me-1' }));
    expect(JSON.stringify(r.body)).not.toContain('Never-Echo-Me-1');
    const stored = await getItem(db, keys.scimUser(1, Number(r.body.id)));
    expect(JSON.stringify(stored)).not.toContain('Never-Echo-Me-1');
    expect(JSON.stringify((await scim('GET', `/Users/${r.body.id}`)).body)).not.toContain('Never-Echo-Me-1');
  });

  it('updates a profile with a full-object PUT carrying id, meta, groups and password', async () => {
    const r = await created(oktaUser(`put${unique()}@example.com`));
    const body = { ...r.body, name: { givenName: 'Changed', familyName: 'Family' }, groups: [], password: 'x-Secret-2' };
    const put = await scim('PUT', `/Users/${r.body.id}`, { body });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ id: r.body.id, name: { givenName: 'Changed' }, active: true });
    expect(put.body.meta.version).not.toBe(r.body.meta.version);
    expect(JSON.stringify(put.body)).not.toContain('x-Secret-2');
    // The account's name follows the IdP's.
    expect((await call('GET', `/api/users/${r.body.id}/`, { token: OWNER_TOKEN })).body.first_name).toBe('Changed');
    expect((await scim('PUT', `/Users/${r.body.id}`, { body: { ...body, id: '999999' } })).body.scimType).toBe('mutability');
    const stale = await scim('PUT', `/Users/${r.body.id}`, { body, headers: { 'if-match': r.body.meta.version } });
    expect(stale.status).toBe(412);
  });

  it('deactivates with a pathless replace at once, and reactivates to the default role', async () => {
    const r = await created(oktaUser(`act${unique()}@example.com`));
    const id = Number(r.body.id);
    expect((await member(id)).role).toBe('AN');
    const own = await resetLegacyToken(db, 1, id);
    expect((await call('GET', '/api/current-user/whoami', { token: own })).status).toBe(200);
    expect((await scim('PATCH', `/Users/${id}`, { body: patchOp({ op: 'replace', value: { active: false } }) })).status).toBe(204);
    expect((await member(id)).role).toBe('DI');
    // Refused on the very next request.
    expect((await call('GET', '/api/current-user/whoami', { token: own })).status).toBe(401);
    // Inactive users are still found, by id and by filter.
    expect((await scim('GET', `/Users/${id}`)).body.active).toBe(false);
    expect((await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${r.body.userName}"`)}`)).body.Resources[0].active).toBe(false);
    expect((await scim('GET', `/Users?filter=${encodeURIComponent(`id eq "${id}" and active eq false`)}`)).body.totalResults).toBe(1);
    expect((await scim('PATCH', `/Users/${id}`, { body: patchOp({ op: 'replace', value: { active: true } }) })).status).toBe(204);
    expect((await member(id)).role).toBe('AN');
  });

  it('finds a user right after creating them (read-after-write), with a percent-encoded filter', async () => {
    const email = `raw${unique()}@example.com`;
    await created(oktaUser(email));
    const r = await scim('GET', `/Users?filter=userName%20eq%20%22${encodeURIComponent(email)}%22&startIndex=1&count=100`);
    expect(r.body.totalResults).toBe(1);
  });
});

describe('Microsoft Entra ID', () => {
  it('takes capitalised ops, string booleans, typed paths, other-case names, dotted and URN keys', async () => {
    const r = await created({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_URN], userName: `entra${unique()}@contoso.com`, active: 'True', displayName: null, name: { givenName: 'E', familyName: null }, externalId: `ext-${unique()}`, roles: [], meta: { resourceType: 'User' } });
    const id = r.body.id;
    expect(r.body.active).toBe(true);
    const patch = patchOp(
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'work@contoso.com' },
      { op: 'Add', path: 'addresses[type eq "work"].formatted', value: '1 Microsoft Way' },
      { op: 'Replace', path: 'Name.GivenName', value: 'Edited' },
      { op: 'replace', value: { displayName: 'Bjfe', 'name.familyName': 'Kkom', [`${ENTERPRISE_URN}:employeeNumber`]: 'Aklq' } },
    );
    expect((await scim('PATCH', `/Users/${id}`, { body: patch })).status).toBe(204);
    const got = (await scim('GET', `/Users/${id}`)).body;
    expect(got).toMatchObject({ emails: [{ type: 'work', value: 'work@contoso.com' }], addresses: [{ type: 'work', formatted: '1 Microsoft Way' }], name: { givenName: 'Edited', familyName: 'Kkom' }, displayName: 'Bjfe', [ENTERPRISE_URN]: { employeeNumber: 'Aklq' } });
    const found = await scim('GET', `/Users?filter=${encodeURIComponent('emails[type eq "work"].value eq "work@contoso.com"')}`);
    expect(found.body.Resources.map((u: { id: string }) => u.id)).toEqual([id]);
    expect((await scim('PATCH', `/Users/${id}`, { body: patchOp({ op: 'Replace', path: 'active', value: 'False' }) })).status).toBe(204);
    expect((await scim('GET', `/Users/${id}`)).body.active).toBe(false);
    expect((await member(Number(id))).role).toBe('DI');
  });

  it('sets the manager from a bare id string, replaces it, and clears it with ""', async () => {
    const r = await created({ userName: `mgr${unique()}@contoso.com`, active: true });
    const path = `${ENTERPRISE_URN}:manager`;
    const manager = async () => (await scim('GET', `/Users/${r.body.id}`)).body[ENTERPRISE_URN]?.manager;
    await scim('PATCH', `/Users/${r.body.id}`, { body: patchOp({ op: 'Add', path, value: 'boss-1' }) });
    expect(await manager()).toEqual({ value: 'boss-1' });
    await scim('PATCH', `/Users/${r.body.id}`, { body: patchOp({ op: 'replace', path, value: 'boss-2' }) });
    expect(await manager()).toEqual({ value: 'boss-2' });
    await scim('PATCH', `/Users/${r.body.id}`, { body: patchOp({ op: 'replace', path, value: '' }) });
    expect(await manager()).toBeUndefined();
  });

  it('answers an empty Operations list, a random-GUID userName filter and + for spaces', async () => {
    const r = await created({ userName: `noop${unique()}@contoso.com`, externalId: 'johnwong' });
    expect((await scim('PATCH', `/Users/${r.body.id}`, { body: patchOp() })).status).toBe(204);
    const guid = await scim('GET', `/Users?filter=userName+eq+%22${crypto.randomUUID()}%22`);
    expect(guid.status).toBe(200);
    expect(guid.body).toMatchObject({ totalResults: 0, Resources: [] });
    const byExternal = await scim('GET', '/Users?filter=externalId+eq+%22johnwong%22');
    expect(byExternal.body.Resources.map((u: { id: string }) => u.id)).toContain(r.body.id);
    expect((await scim('GET', `/Users/${r.body.id}?excludedAttributes=emails,name`)).body.name).toBeUndefined();
  });
});

describe('lifecycle', () => {
  it('DELETE soft-deletes the membership (history kept): 404 afterwards, and the userName can be provisioned again', async () => {
    const userName = `gone${unique()}@example.com`;
    const r = await created(oktaUser(userName));
    const id = Number(r.body.id);
    expect((await scim('DELETE', `/Users/${id}`)).status).toBe(204);
    expect((await scim('GET', `/Users/${id}`)).status).toBe(404);
    expect((await scim('PATCH', `/Users/${id}`, { body: patchOp({ op: 'replace', value: { active: false } }) })).status).toBe(404);
    expect((await scim('DELETE', `/Users/${id}`)).status).toBe(404);
    expect((await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`)).body.totalResults).toBe(0);
    const m = await member(id);
    expect(m.deleted_at).not.toBeNull();
    const again = await created(oktaUser(userName));
    expect(Number(again.body.id)).toBe(id);
    expect((await member(id)).deleted_at).toBeNull();
  });

  it('provisions again a user whose membership an administrator deleted through the API', async () => {
    const userName = `admin-deleted${unique()}@example.com`;
    const r = await created(oktaUser(userName));
    expect((await call('DELETE', `/api/organizations/1/memberships/${r.body.id}/`, { token: OWNER_TOKEN })).status).toBe(204);
    expect((await scim('GET', `/Users/${r.body.id}`)).status).toBe(404);
    expect((await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`)).body.totalResults).toBe(0);
    const again = await created(oktaUser(userName));
    expect(again.body.id).toBe(r.body.id);
    expect((await member(Number(r.body.id))).deleted_at).toBeNull();
  });

  it('gives an existing account only a membership here', async () => {
    const existing = await addMember(db, 1, 'RE');
    await call('DELETE', `/api/organizations/1/memberships/${existing.userId}/`, { token: OWNER_TOKEN });
    const r = await created(oktaUser(existing.email));
    expect(Number(r.body.id)).toBe(existing.userId);
  });

  it('never demotes or deletes the Owner', async () => {
    const r = await created(oktaUser('owner@example.com'));
    expect(Number(r.body.id)).toBe(1);
    await scim('PATCH', '/Users/1', { body: patchOp({ op: 'replace', value: { active: false } }) });
    expect((await member(1)).role).toBe('OW');
    expect((await scim('DELETE', '/Users/1')).status).toBe(204);
    expect((await member(1)).deleted_at).toBeNull();
  });

  it('shows another organization\'s SCIM token nothing of this one', async () => {
    const r = await created(oktaUser(`mine${unique()}@example.com`));
    const other = await otherOrg(db, 'Elsewhere');
    const t = await call('POST', '/api/scim/tokens', { token: other.owner.token });
    const theirs = scimClient(roster.url, t.body.token);
    expect((await theirs('GET', '/Users')).body.totalResults).toBe(0);
    expect((await theirs('GET', `/Users?filter=${encodeURIComponent(`userName eq "${r.body.userName}"`)}`)).body.totalResults).toBe(0);
    expect((await theirs('GET', `/Users/${r.body.id}`)).status).toBe(404);
    expect((await theirs('PATCH', `/Users/${r.body.id}`, { body: patchOp({ op: 'replace', value: { active: false } }) })).status).toBe(404);
    expect((await theirs('DELETE', `/Users/${r.body.id}`)).status).toBe(404);
    expect((await scim('GET', `/Users/${r.body.id}`)).body.active).toBe(true);
  });

  it('lets one of 10 concurrent POSTs of a userName win, the others 409', async () => {
    const userName = `race${unique()}@example.com`;
    const replies = await Promise.all(Array.from({ length: 10 }, () => scim('POST', '/Users', { body: oktaUser(userName) })));
    expect(replies.map((r) => r.status).sort()).toEqual([201, ...Array(9).fill(409)]);
  });

  it('keeps every one of 10 concurrent PATCHes to one user', async () => {
    const r = await created(oktaUser(`many${unique()}@example.com`));
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => scim('PATCH', `/Users/${r.body.id}`, { body: patchOp({ op: 'add', path: 'phoneNumbers', value: [{ type: `t${i}`, value: `+1 555 010${i}` }] }) })));
    expect(replies.map((x) => x.status)).toEqual(Array(10).fill(204));
    const phones = (await scim('GET', `/Users/${r.body.id}`)).body.phoneNumbers.map((p: { type: string }) => p.type).sort();
    expect(phones).toEqual(Array.from({ length: 10 }, (_, i) => `t${i}`).sort());
  });

  it('pages in a stable order with RFC 7644\'s edge rules', async () => {
    const all = await scim('GET', '/Users?count=1000');
    const ids = all.body.Resources.map((u: { id: string }) => u.id);
    expect(ids).toEqual([...ids].sort((a: string, b: string) => Number(a) - Number(b)));
    const page = await scim('GET', '/Users?startIndex=2&count=2');
    expect(page.body).toMatchObject({ startIndex: 2, itemsPerPage: 2, totalResults: all.body.totalResults });
    expect(page.body.Resources.map((u: { id: string }) => u.id)).toEqual(ids.slice(1, 3));
    expect((await scim('GET', '/Users?startIndex=0&count=1')).body.Resources[0].id).toBe(ids[0]);
    expect((await scim('GET', '/Users?count=-5')).body).toMatchObject({ itemsPerPage: 0, Resources: [], totalResults: all.body.totalResults });
    expect((await scim('GET', '/Users?startIndex=100000')).body).toMatchObject({ itemsPerPage: 0, Resources: [] });
  });
});

describe('bad input', () => {
  it('is always a SCIM 4xx naming the problem, never a 5xx', async () => {
    const r = await created(oktaUser(`bad${unique()}@example.com`));
    const id = r.body.id;
    const cases: [string, string, { body?: unknown; raw?: string; contentType?: string }, number, string?][] = [
      ['GET', '/Users?filter=userName%20eq', {}, 400, 'invalidFilter'],
      ['GET', '/Users?filter=emails%5Btype%20eq', {}, 400, 'invalidFilter'],
      ['GET', '/Users?count=abc', {}, 400, 'invalidValue'],
      ['GET', '/Users/not-a-number', {}, 404],
      ['POST', '/Users', { raw: '{"acve": tre,' }, 400, 'invalidSyntax'],
      ['POST', '/Users', { body: { active: true } }, 400, 'invalidValue'],
      ['POST', '/Users', { body: [1, 2] }, 400, 'invalidValue'],
      ['POST', '/Users', { body: { userName: 'x@y.z', active: 'maybe' } }, 400, 'invalidValue'],
      ['POST', '/Users', { body: { userName: 'x@y.z', name: 'plain' } }, 400, 'invalidValue'],
      ['POST', '/Users', { raw: 'userName=x', contentType: 'text/plain' }, 415],
      ['PATCH', `/Users/${id}`, { body: patchOp({ op: 'replace', path: 'id', value: '1' }) }, 400, 'mutability'],
      ['PATCH', `/Users/${id}`, { body: patchOp({ op: 'replace', path: 'meta.created', value: '1' }) }, 400, 'mutability'],
      ['PATCH', `/Users/${id}`, { body: patchOp({ op: 'Remove' }) }, 400, 'noTarget'],
      ['PATCH', `/Users/${id}`, { body: patchOp({ op: 'replace', path: 'nonsense', value: 1 }) }, 400, 'invalidPath'],
      ['PATCH', `/Users/${id}`, { body: patchOp({ op: 'replace', path: 'emails[type eq', value: 1 }) }, 400, 'invalidPath'],
      ['PATCH', `/Users/${id}`, { body: patchOp({ op: 'jump', path: 'title', value: 1 }) }, 400, 'invalidSyntax'],
      ['PATCH', `/Users/${id}`, { body: patchOp({ op: 'replace', path: 'active', value: 'perhaps' }) }, 400, 'invalidValue'],
      ['PATCH', `/Users/${id}`, { body: patchOp({ op: 'replace', value: 'x' }) }, 400, 'invalidValue'],
      ['PATCH', `/Users/${id}`, { body: patchOp({ op: 'replace', path: 'userName', value: null }) }, 400, 'invalidValue'],
      ['PATCH', `/Users/${id}`, { body: { Operations: 'all' } }, 400, 'invalidSyntax'],
      ['PATCH', `/Users/${id}`, { body: { Operations: Array.from({ length: 1001 }, () => ({ op: 'add', path: 'title', value: 't' })) } }, 400, 'tooMany'],
      ['PUT', `/Users/${id}`, { body: { userame: 'typo' } }, 400, 'invalidValue'],
      ['POST', '/Groups', { body: { members: [] } }, 400, 'invalidValue'],
      ['PATCH', '/Groups/00000000-0000-0000-0000-000000000000', { body: patchOp() }, 404],
      ['GET', '/Groups?filter=displayName%20eq', {}, 400, 'invalidFilter'],
      ['GET', '/Bulk', {}, 404],
      ['GET', '/users', {}, 404],
      ['POST', `/Users/${id}`, { body: {} }, 405],
    ];
    for (const [method, path, opts, status, scimType] of cases) {
      const reply = await scim(method, path, opts);
      expect(reply.status, `${method} ${path} ${JSON.stringify(opts).slice(0, 120)}`).toBe(status);
      if (scimType) expect(reply.body.scimType, `${method} ${path}`).toBe(scimType);
    }
    expect((await scim('GET', `/Users/${id}`)).body.userName).toBe(r.body.userName);
  });

  it('refuses a body over the limit with 413', async () => {
    const big = await scim('POST', '/Users', { body: { userName: 'big@example.com', title: 'x'.repeat(300_000) } });
    expect(big.status).toBe(413);
  });

  it('keeps the SCIM user item and the userName item in step (no half-written resource)', async () => {
    const r = await created(oktaUser(`pair${unique()}@example.com`));
    await scim('PATCH', `/Users/${r.body.id}`, { body: patchOp({ op: 'replace', path: 'userName', value: `renamed${unique()}@example.com` }) });
    const now = (await scim('GET', `/Users/${r.body.id}`)).body.userName;
    expect(await getItem(db, keys.scimUserName(1, r.body.userName))).toBeUndefined();
    expect((await getItem(db, keys.scimUserName(1, now)))?.user_id).toBe(Number(r.body.id));
    expect(await getItem(db, keys.membership(1, Number(r.body.id)))).toBeDefined();
  });
});
