/**
 * Review 9 (authentication in each route's function, self-locating legacy tokens, request reads).
 * Found in review and fixed: a missing credential is 401 before a body the parser refuses; a
 * refusal of a verified credential names its member.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../lib/core/table.js';
import { type Db, createDb } from '../../lib/core/db.js';
import { signIn } from '../support/cognito.js';
import { type Member, addMember, otherOrg } from '../support/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;
let ws: number;
let project: number;
let member: Member;
let foreign: { orgId: number; owner: Member };
let foreignProject: number;
const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  ws = (await call('POST', '/api/workspaces/', { token: OWNER_TOKEN, body: { title: 'R9' } })).body.id;
  project = (await call('POST', '/api/projects/', { token: OWNER_TOKEN, body: { title: 'R9 project', workspace: ws } })).body.id;
  member = await addMember(db, 1, 'AN', 'r9-member@example.com');
  foreign = await otherOrg(db, 'R9 other');
  const fws = (await call('POST', '/api/workspaces/', { token: foreign.owner.token, body: { title: 'Foreign' } })).body.id;
  foreignProject = (await call('POST', '/api/projects/', { token: foreign.owner.token, body: { title: 'Foreign project', workspace: fws } })).body.id;
});
afterAll(() => roster?.stop());

// First in the file: auth.failed entries are limited per address and minute (the forged-token tests below make many).
describe('security events', () => {
  const logged = async (org: number, agent: string) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const items = ((await db.doc.send(new QueryCommand({ TableName: db.table, KeyConditionExpression: 'PK = :pk', FilterExpression: 'user_agent = :ua', ExpressionAttributeValues: { ':pk': keys.log(org), ':ua': agent }, ConsistentRead: true }))).Items ?? []) as Record<string, unknown>[];
      if (items.length || Date.now() > deadline) return items;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  it('a deactivated member\'s real token is auth.failed in their organization, with them as actor; a 403 is auth.forbidden', async () => {
    const m = await addMember(db, 1, 'AN', 'r9-events@example.com');
    const agentF = `r9-forbidden-${Date.now()}`;
    expect((await call('PATCH', '/api/organizations/1', { token: m.token, body: { title: 'nope' }, headers: { 'user-agent': agentF } })).status).toBe(403);
    expect((await logged(1, agentF)).map((e) => [e.action, e.actor_id])).toEqual([['auth.forbidden', m.userId]]);
    expect((await call('PATCH', '/api/organizations/1/memberships', { token: OWNER_TOKEN, body: { user_id: m.userId, role: 'DI' } })).status).toBe(200);
    const agent = `r9-inactive-${Date.now()}`;
    expect((await call('GET', '/api/current-user/whoami', { token: m.token, headers: { 'user-agent': agent } })).status).toBe(401);
    expect((await logged(1, agent)).map((e) => [e.action, e.actor_id, e.organization])).toEqual([['auth.failed', m.userId, 1]]);
  });
});

describe('a refusal for a token kind switched off', () => {
  // The credential was verified: the refusal names its member and lands in their organization's log.
  it('records a verified legacy token refused by its organization\'s policy in that organization\'s log, with its member as actor', async () => {
    const off = await call('POST', '/api/jwt/settings', { token: foreign.owner.token, body: { legacy_api_tokens_enabled: false, api_token_ttl_days: 30 } });
    expect(off.status).toBeLessThan(300);
    const agent = `r9-policy-${Date.now()}`;
    expect(await call('GET', '/api/current-user/whoami', { token: foreign.owner.token, headers: { 'user-agent': agent } })).toMatchObject({ status: 401, body: { detail: 'Legacy API tokens are disabled in this organization.' } });
    const q = (org: number) => db.doc.send(new QueryCommand({ TableName: db.table, KeyConditionExpression: 'PK = :pk', FilterExpression: 'user_agent = :ua', ExpressionAttributeValues: { ':pk': keys.log(org), ':ua': agent }, ConsistentRead: true }));
    const deadline = Date.now() + 10_000;
    let inOrg: Record<string, unknown>[] = [];
    let inNone: Record<string, unknown>[] = [];
    while (!inOrg.length && !inNone.length && Date.now() < deadline) {
      [inOrg, inNone] = [((await q(foreign.orgId)).Items ?? []), ((await q(0)).Items ?? [])];
      await new Promise((r) => setTimeout(r, 100));
    }
    expect({ inOrg: inOrg.length, inNone: inNone.length }).toEqual({ inOrg: 1, inNone: 0 });
    expect(inOrg[0]).toMatchObject({ action: 'auth.failed', actor_id: foreign.owner.userId });
  });
});

describe('input ordering: a missing credential is 401 before anything about the body', () => {
  it('no credential and a malformed JSON body is 401', async () => {
    const r = await call('POST', '/api/access/check', { raw: '{"user_id":', headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(401);
  });
  it('no credential and a non-JSON content type is 401', async () => {
    const r = await call('POST', '/api/workspaces/', { raw: 'title=x', headers: { 'content-type': 'text/plain' } });
    expect(r.status).toBe(401);
  });
  it('no credential and a bad path id / bad query / bad body is 401', async () => {
    expect((await call('GET', '/api/projects/abc/')).status).toBe(401);
    expect((await call('GET', '/api/users/1/accessible-projects?page_size=0')).status).toBe(401);
    expect((await call('POST', '/api/access/check', { body: { nope: 1 } })).status).toBe(401);
  });
  it('a forged token and a bad path id is 401, not 404', async () => {
    expect((await call('GET', '/api/projects/abc/', { token: `rlt_1_${member.userId}_${'a'.repeat(40)}` })).status).toBe(401);
  });
});

describe('forged, edited and odd legacy tokens', () => {
  it('refuses every variant with 401 (never 5xx), and accepts only the exact token', async () => {
    const t = member.token;
    const [, o, u, secret] = t.split('_') as [string, string, string, string];
    const variants = [
      t.toUpperCase(),
      `rlt_${o}_${u}_${secret.toUpperCase()}`,
      t.slice(0, -1),
      `${t}0`,
      `${t}_`,
      `rlt_0${o}_${u}_${secret}`,
      `rlt_${o}_0${u}_${secret}`,
      `rlt_${o}_${u}_${secret.slice(0, 39)}g`,
      `rlt_999999999999999_999999999999999_${secret}`,
      `rlt_9999999999999999_1_${secret}`,
      `rlt_${Number(o) + 1}_${u}_${secret}`,
      `RLT_${o}_${u}_${secret}`,
      'x'.repeat(8000),
      `rlt_${o}_${u}_${secret}é`,
    ];
    for (const v of variants) {
      const r = await call('GET', '/api/current-user/whoami', { headers: { authorization: `Token ${v}` } });
      expect(r.status, v.slice(0, 80)).toBe(401);
    }
    // Scheme case and surrounding whitespace are tolerated (DRF lowercases the keyword).
    for (const h of [`Token ${t}`, `token ${t}`, `TOKEN   ${t}  `]) {
      expect((await call('GET', '/api/current-user/whoami', { headers: { authorization: h } })).status, h).toBe(200);
    }
    for (const h of [`Token ${t} extra`, `Token`, `Token `, `Basic ${t}`, `${t}`]) {
      expect((await call('GET', '/api/current-user/whoami', { headers: { authorization: h } })).status, h).toBe(401);
    }
  });

  it('answers a forged token naming a deactivated member, a live member and nobody the same way', async () => {
    const paused = await addMember(db, 1, 'AN', 'r9-paused@example.com');
    expect((await call('PATCH', '/api/organizations/1/memberships', { token: OWNER_TOKEN, body: { user_id: paused.userId, role: 'DI' } })).status).toBe(200);
    const bad = '0123456789abcdef0123456789abcdef01234567';
    const answers = [];
    for (const uid of [paused.userId, member.userId, 999_999]) answers.push(await call('GET', '/api/current-user/whoami', { token: `rlt_1_${uid}_${bad}` }));
    expect(answers.map((a) => [a.status, a.body])).toEqual(answers.map(() => [401, { detail: 'Invalid token.' }]));
    // The deactivated member's own token tells them why.
    expect(await call('GET', '/api/current-user/whoami', { token: paused.token })).toMatchObject({ status: 401, body: { detail: 'User inactive or deleted.' } });
  });

  it('the chosen bootstrap token is exact: case-changed or edited is refused', async () => {
    for (const v of [OWNER_TOKEN.toUpperCase(), `${OWNER_TOKEN}x`, OWNER_TOKEN.slice(0, -1)]) {
      expect((await call('GET', '/api/current-user/whoami', { token: v })).status, v).toBe(401);
    }
    expect((await call('GET', '/api/current-user/whoami', { headers: { authorization: `Token  ${OWNER_TOKEN} ` } })).status).toBe(200);
  });
});

describe('organization boundaries', () => {
  it('a token of organization 1 reaches nothing of organization 2 (prefetch of foreign keys is not trusted)', async () => {
    expect((await call('GET', `/api/organizations/${foreign.orgId}`, { token: member.token })).status).toBeGreaterThanOrEqual(403);
    expect((await call('GET', `/api/organizations/${foreign.orgId}/memberships`, { token: member.token })).status).toBeGreaterThanOrEqual(403);
    expect((await call('GET', `/api/projects/${foreignProject}/`, { token: OWNER_TOKEN })).status).toBe(404);
    const check = await call('POST', '/api/access/check', { token: OWNER_TOKEN, body: { user_id: foreign.owner.userId, action: 'project.read', project_id: foreignProject } });
    expect(check.status).toBe(200);
    expect(check.body.allowed).toBe(false);
    const acc = await call('GET', `/api/users/${foreign.owner.userId}/accessible-projects`, { token: OWNER_TOKEN });
    expect(acc.status).toBeGreaterThanOrEqual(403);
  });
});

describe('prefetch on odd input', () => {
  it('never answers 5xx for extreme ids in paths and access checks', async () => {
    for (const path of ['/api/projects/999999999999999/', '/api/workspaces/999999999999999/', '/api/organizations/999999999999999', '/api/users/999999999999999/accessible-projects']) {
      const r = await call('GET', path, { token: OWNER_TOKEN });
      expect(r.status, path).toBeLessThan(500);
    }
    for (const body of [
      { user_id: Number.MAX_SAFE_INTEGER, action: 'project.read', project_id: Number.MAX_SAFE_INTEGER },
      { user_id: 1e300, action: 'project.read', project_id: 1 },
      { checks: Array.from({ length: 100 }, (_, i) => ({ user_id: 1, action: 'project.read', project_id: i + 1 })) },
      { checks: Array.from({ length: 32 }, (_, i) => ({ user_id: i + 1, action: 'workspace.read', workspace_id: i + 1 })) },
    ]) {
      const r = await call('POST', '/api/access/check', { token: OWNER_TOKEN, body });
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBeLessThan(500);
    }
  });
  it('a PAT caller with a full prefetch batch (over 100 keys with the credential) is still answered', async () => {
    const pat = (await call('POST', '/api/token/', { token: OWNER_TOKEN })).body.token as string;
    const access = (await call('POST', '/api/token/refresh/', { body: { refresh: pat } })).body.access as string;
    const checks = Array.from({ length: 32 }, (_, i) => ({ user_id: 1, action: 'project.read', project_id: i === 0 ? project : 100 + i }));
    const r = await call('POST', '/api/access/check', { headers: bearer(access), body: { checks } });
    expect(r.status).toBe(200);
    expect(r.body.results[0].allowed).toBe(true);
  });
});

describe('concurrent requests in one process', () => {
  it('each request sees its own caller and its own reads while others write', async () => {
    const readers = await Promise.all(Array.from({ length: 6 }, (_, i) => addMember(db, 1, 'AN', `r9-conc-${i}@example.com`)));
    const writers = await Promise.all(Array.from({ length: 4 }, (_, i) => addMember(db, 1, 'RE', `r9-concw-${i}@example.com`)));
    for (let round = 0; round < 3; round++) {
      const replies = await Promise.all([
        ...readers.map((p) => call('GET', '/api/current-user/whoami', { token: p.token }).then((r) => ({ who: p.userId, r }))),
        ...writers.map((p) => call('POST', '/api/current-user/reset-token/', { token: p.token }).then((r) => { p.token = r.body.token; return { who: 0, r }; })),
        ...readers.map((p) => call('GET', '/api/organizations/1', { token: p.token }).then((r) => ({ who: 0, r }))),
      ]);
      for (const { who, r } of replies) {
        expect(r.status).toBeLessThan(300);
        if (who) expect(r.body.id).toBe(who);
      }
    }
  });
});

describe('credentials revoked take effect on the next request', () => {
  it('a blacklisted PAT\'s access token and a rotated PAT\'s access token are refused', async () => {
    const m = await addMember(db, 1, 'AD', 'r9-pat@example.com');
    const pat = (await call('POST', '/api/token/', { token: m.token })).body.token as string;
    const access = (await call('POST', '/api/token/refresh/', { body: { refresh: pat } })).body.access as string;
    expect((await call('GET', '/api/current-user/whoami', { headers: bearer(access) })).status).toBe(200);
    const rotated = await call('POST', '/api/token/rotate/', { headers: bearer(access), body: { refresh: pat } });
    expect(rotated.status).toBeLessThan(300);
    expect(await call('GET', '/api/current-user/whoami', { headers: bearer(access) })).toMatchObject({ status: 401 });
    const access2 = (await call('POST', '/api/token/refresh/', { body: { refresh: rotated.body.refresh } })).body.access as string;
    expect((await call('GET', '/api/current-user/whoami', { headers: bearer(access2) })).status).toBe(200);
    expect((await call('POST', '/api/token/blacklist/', { headers: bearer(access2), body: { refresh: rotated.body.refresh } })).status).toBeLessThan(300);
    expect(await call('GET', '/api/current-user/whoami', { headers: bearer(access2) })).toMatchObject({ status: 401 });
  });

  it('a token-policy change is answered by the same request and read by the next', async () => {
    const m = await addMember(db, 1, 'AN', 'r9-policy@example.com');
    const off = await call('POST', '/api/jwt/settings', { token: OWNER_TOKEN, body: { legacy_api_tokens_enabled: true, api_tokens_enabled: false, api_token_ttl_days: 30 } });
    expect(off.status).toBeLessThan(300);
    expect(off.body.api_tokens_enabled).toBe(false);
    expect((await call('GET', '/api/jwt/settings', { token: OWNER_TOKEN })).body.api_tokens_enabled).toBe(false);
    const on = await call('POST', '/api/jwt/settings', { token: OWNER_TOKEN, body: { api_tokens_enabled: true, api_token_ttl_days: 30 } });
    expect(on.body.api_tokens_enabled).toBe(true);
    expect((await call('GET', '/api/current-user/whoami', { token: m.token })).status).toBe(200);
  });

  it('a member whose role changes is served the new role in the response of the write and after', async () => {
    const m = await addMember(db, 1, 'AN', 'r9-role@example.com');
    const r = await call('PATCH', '/api/organizations/1/memberships', { token: OWNER_TOKEN, body: { user_id: m.userId, role: 'RE' } });
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.body)).toContain('"RE"');
    expect((await call('GET', '/api/current-user/whoami', { token: m.token })).body.organization_membership.role).toBe('RE');
  });

  it('a Cognito user removed from their active organization is refused on the next request', async () => {
    const created = await call('POST', '/api/users/', { token: OWNER_TOKEN, body: { email: 'r9-cog@example.com', password: 'Str0ng-pass!' } });
    const jwt = await signIn(roster.cognito, 'r9-cog@example.com', 'Str0ng-pass!');
    expect((await call('GET', '/api/current-user/whoami', { headers: bearer(jwt) })).status).toBe(200);
    expect((await call('DELETE', `/api/organizations/1/memberships/${created.body.id}/`, { token: OWNER_TOKEN })).status).toBe(204);
    expect(await call('GET', '/api/current-user/whoami', { headers: bearer(jwt) })).toMatchObject({ status: 401 });
    expect(await call('GET', `/api/organizations/${foreign.orgId}`, { headers: bearer(jwt) })).toMatchObject({ status: 401 });
  });
});

describe('odd bearer tokens', () => {
  it('refuses unsigned, malformed and foreign-issuer JWTs with 401 (never 5xx)', async () => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const claims = { iss: 'roster', aud: 'roster-api', sub: '1', org: 1, pat: 'x', token_type: 'access', exp: Math.floor(Date.now() / 1000) + 300 };
    const odd = [
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`,
      `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.${'A'.repeat(43)}`,
      `${b64({ alg: 'RS256' })}.${b64({ ...claims, iss: 'https://cognito-idp.local/pool' })}.sig`,
      'a.b.c',
      '..',
      `x.${Buffer.from('not json').toString('base64url')}.y`,
      `x.${b64({ iss: 42 })}.y`,
    ];
    for (const t of odd) {
      const r = await call('GET', '/api/current-user/whoami', { headers: bearer(t) });
      expect(r.status, t.slice(0, 60)).toBe(401);
    }
  });
});

// Last: it ends the chosen bootstrap token.
describe('the chosen bootstrap token', () => {
  it('stops working once its owner resets it; the new self-locating token works', async () => {
    const reset = await call('POST', '/api/current-user/reset-token/', { token: OWNER_TOKEN });
    expect(reset.status).toBe(201);
    expect(reset.body.token).toMatch(/^rlt_1_1_[0-9a-f]{40}$/);
    expect(await call('GET', '/api/current-user/whoami', { token: OWNER_TOKEN })).toMatchObject({ status: 401, body: { detail: 'Invalid token.' } });
    expect((await call('GET', '/api/current-user/whoami', { token: reset.body.token })).status).toBe(200);
  });
});
