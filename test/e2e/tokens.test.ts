import { InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
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

/** Every credential this file sees: none may ever be stored or logged. */
const secrets = new Set<string>([OWNER_TOKEN]);
const keep = <T extends string>(s: T): T => {
  secrets.add(s);
  return s;
};

const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });
const whoamiWith = (headers: Record<string, string>) => call('GET', '/api/current-user/whoami', { headers });
const whoami = (token: string) => call('GET', '/api/current-user/whoami', { token });

async function member(role: Parameters<typeof addMember>[2] = 'AN'): Promise<Member> {
  const m = await addMember(db, 1, role);
  keep(m.token);
  return m;
}

/** POST /api/token/ as `token`'s owner: the new personal access token. */
async function newPat(token: string): Promise<string> {
  const r = await call('POST', '/api/token/', { token });
  expect(r.status).toBe(201);
  return keep(r.body.token);
}

/** POST /api/token/refresh/ without credentials. */
const refresh = (pat: unknown) => call('POST', '/api/token/refresh/', { body: { refresh: pat } });

async function accessFor(pat: string): Promise<string> {
  const r = await refresh(pat);
  expect(r.status).toBe(200);
  return keep(r.body.access);
}

const policy = (body: Record<string, unknown>, headers: Record<string, string> = { authorization: `Token ${OWNER_TOKEN}` }) =>
  call('POST', '/api/jwt/settings', { headers, body });

/** Every item in the table (a test may Scan; the product never does). */
async function scanAll(): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.doc.send(new ScanCommand({ TableName: db.table, ConsistentRead: true, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
});
afterAll(() => roster?.stop());

describe('legacy token', () => {
  it('shows a member without a legacy token a new 40-hex token once, which works; a second call gives only {detail}', async () => {
    // A member with a sign-in account and no legacy token: created by the Owner with a password, signed in through the user pool.
    const email = 'pw-member@example.com';
    const created = await call('POST', '/api/users/', { token: OWNER_TOKEN, body: { email, password: 'Str0ng-pass!' } });
    expect(created.status).toBe(201);
    const cognito = localCognitoClient(roster.cognito.endpoint);
    const auth = await cognito.send(
      new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: roster.cognito.clientId, AuthParameters: { USERNAME: email, PASSWORD: 'Str0ng-pass!' } }),
    );
    cognito.destroy();
    const jwt = keep(auth.AuthenticationResult!.AccessToken!);
    expect((await whoamiWith(bearer(jwt))).body).toMatchObject({ id: created.body.id });

    const first = await call('GET', '/api/current-user/token', { headers: bearer(jwt) });
    expect(first.status).toBe(200);
    expect(Object.keys(first.body)).toEqual(['token']);
    expect(first.body.token).toMatch(/^rlt_1_\d+_[0-9a-f]{40}$/);
    keep(first.body.token);
    expect(await whoami(first.body.token)).toMatchObject({ status: 200, body: { id: created.body.id } });

    for (const headers of [bearer(jwt), { authorization: `Token ${first.body.token}` }]) {
      const again = await call('GET', '/api/current-user/token', { headers });
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ detail: expect.any(String) });
      expect(JSON.stringify(again.body)).not.toContain(first.body.token);
    }
    expect((await whoami(first.body.token)).status).toBe(200);
  });

  it('resets the legacy token: 201 {token}, the old one is refused on the very next request, the new one works', async () => {
    const m = await member();
    expect((await whoami(m.token)).status).toBe(200);
    const r = await call('POST', '/api/current-user/reset-token/', { token: m.token });
    expect(r.status).toBe(201);
    expect(r.body.token).toMatch(/^rlt_1_\d+_[0-9a-f]{40}$/);
    keep(r.body.token);
    expect(r.body.token).not.toBe(m.token);
    expect(await whoami(m.token)).toMatchObject({ status: 401, body: { detail: expect.any(String) } });
    expect(await whoami(r.body.token)).toMatchObject({ status: 200, body: { id: m.userId } });
  });
});

describe('personal access tokens', () => {
  it('creates a PAT (201, rpat_ prefix, LSE shape) whose lifetime is the default 30 days', async () => {
    const m = await member();
    const r = await call('POST', '/api/token/', { token: m.token });
    expect(r.status).toBe(201);
    keep(r.body.token);
    expect(lseErrors('LSEAPITokenCreate', r.body)).toEqual([]);
    expect(r.body.token).toMatch(/^rpat_/);
    const days = (Date.parse(r.body.expires_at) - Date.parse(r.body.created_at)) / 86_400_000;
    expect(days).toBe(30);
  });

  it('lists the caller\'s PATs masked, never the full token, and not other people\'s', async () => {
    const m = await member();
    const pats = [await newPat(m.token), await newPat(m.token)];
    const other = await member();
    await newPat(other.token);
    const r = await call('GET', '/api/token/', { token: m.token });
    expect(r.status).toBe(200);
    expect(r.body).toHaveLength(2);
    for (const item of r.body) expect(lseErrors('LSEAPITokenList', item)).toEqual([]);
    const text = JSON.stringify(r.body);
    for (const pat of pats) {
      expect(text).not.toContain(pat);
      expect(text).not.toContain(pat.slice(5, 25));
    }
  });

  it('exchanges a PAT for an access token without an Authorization header, and the access token works as Bearer', async () => {
    const m = await member();
    const pat = await newPat(m.token);
    const r = await refresh(pat);
    expect(r.status).toBe(200);
    expect(Object.keys(r.body)).toEqual(['access']);
    keep(r.body.access);
    expect(await whoamiWith(bearer(r.body.access))).toMatchObject({ status: 200, body: { id: m.userId, email: m.email } });
  });

  it('refreshes even when a wrong credential comes along (refresh takes none)', async () => {
    const m = await member();
    const pat = await newPat(m.token);
    const r = await call('POST', '/api/token/refresh/', { headers: { authorization: 'Token wrong' }, body: { refresh: pat } });
    expect(r.status).toBe(200);
    keep(r.body.access);
  });

  it('rotates a PAT: the old one no longer refreshes, its access tokens fail at once, the new one works', async () => {
    const m = await member();
    const old = await newPat(m.token);
    const oldAccess = await accessFor(old);
    expect((await whoamiWith(bearer(oldAccess))).status).toBe(200);
    const r = await call('POST', '/api/token/rotate/', { token: m.token, body: { refresh: old } });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body)).toEqual(['refresh']);
    const fresh = keep(r.body.refresh as string);
    expect(fresh).toMatch(/^rpat_/);
    expect(fresh).not.toBe(old);
    expect(await refresh(old)).toMatchObject({ status: 401, body: { detail: expect.any(String) } });
    expect(await whoamiWith(bearer(oldAccess))).toMatchObject({ status: 401, body: { detail: expect.any(String) } });
    const access = await accessFor(fresh);
    expect(await whoamiWith(bearer(access))).toMatchObject({ status: 200, body: { id: m.userId } });
    expect((await call('GET', '/api/token/', { token: m.token })).body).toHaveLength(1);
  });

  it('blacklists a PAT: 204, then it no longer refreshes and its access token fails; blacklisting again is 404', async () => {
    const m = await member();
    const pat = await newPat(m.token);
    const access = await accessFor(pat);
    const r = await call('POST', '/api/token/blacklist/', { token: m.token, body: { refresh: pat } });
    expect(r.status).toBe(204);
    expect(await refresh(pat)).toMatchObject({ status: 401, body: { detail: expect.any(String) } });
    expect(await whoamiWith(bearer(access))).toMatchObject({ status: 401, body: { detail: expect.any(String) } });
    expect((await call('GET', '/api/token/', { token: m.token })).body).toEqual([]);
    const again = await call('POST', '/api/token/blacklist/', { token: m.token, body: { refresh: pat } });
    expect(again.status).toBe(404);
    expect(again.body).toEqual({ detail: expect.any(String) });
  });

  it('refuses a deactivated member\'s access token and refresh, and restores both on reactivation', async () => {
    const m = await member();
    const pat = await newPat(m.token);
    const access = await accessFor(pat);
    const setRole = (role: string) => call('PATCH', '/api/organizations/1/memberships', { token: OWNER_TOKEN, body: { user_id: m.userId, role } });
    expect((await setRole('DI')).status).toBe(200);
    expect(await whoamiWith(bearer(access))).toMatchObject({ status: 401, body: { detail: expect.any(String) } });
    expect(await refresh(pat)).toMatchObject({ status: 401, body: { detail: expect.any(String) } });
    expect((await setRole('AN')).status).toBe(200);
    expect((await whoamiWith(bearer(access))).status).toBe(200);
    expect((await whoamiWith(bearer(await accessFor(pat)))).status).toBe(200);
  });
});

describe('concurrency', () => {
  it('keeps exactly one live PAT when the same PAT is rotated 5 times at once', async () => {
    const m = await member();
    const old = await newPat(m.token);
    const replies = await Promise.all(Array.from({ length: 5 }, () => call('POST', '/api/token/rotate/', { token: m.token, body: { refresh: old } })));
    for (const r of replies) if (r.body?.refresh) keep(r.body.refresh);
    expect(replies.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401]);
    const winner = replies.find((r) => r.status === 200)!.body.refresh as string;
    expect((await call('GET', '/api/token/', { token: m.token })).body).toHaveLength(1);
    expect((await refresh(old)).status).toBe(401);
    expect((await whoamiWith(bearer(await accessFor(winner)))).status).toBe(200);
  });

  it('leaves exactly one working legacy token, and no lookup item (the token names its membership), after 5 concurrent resets', async () => {
    const m = await member();
    const replies = await Promise.all(Array.from({ length: 5 }, () => call('POST', '/api/current-user/reset-token/', { token: m.token })));
    for (const r of replies) if (r.body?.token) keep(r.body.token);
    for (const r of replies) expect(r.status).toBe(201);
    const working = [];
    for (const r of replies) if ((await whoami(r.body.token)).status === 200) working.push(r.body.token);
    expect(working).toHaveLength(1);
    expect((await whoami(m.token)).status).toBe(401);
    const items = await scanAll();
    expect(items.filter((i) => i.type === 'legacy_token' && i.userId === m.userId)).toHaveLength(0);
    const own = keys.membership(1, m.userId);
    expect(items.find((i) => i.PK === own.PK && i.SK === own.SK)?.tokenHash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('deleted members', () => {
  it('refuses a deleted member\'s access token and refresh on the very next request', async () => {
    const m = await member();
    const pat = await newPat(m.token);
    const access = await accessFor(pat);
    expect((await call('DELETE', `/api/organizations/1/memberships/${m.userId}/`, { token: OWNER_TOKEN })).status).toBe(204);
    expect((await whoamiWith(bearer(access))).status).toBe(401);
    expect((await refresh(pat)).status).toBe(401);
    expect((await whoami(m.token)).status).toBe(401);
  });
});

describe('token policy (/api/jwt/settings)', () => {
  it('shows the policy to the Owner in LSE\'s shape, with LSE\'s defaults', async () => {
    const r = await call('GET', '/api/jwt/settings', { token: OWNER_TOKEN });
    expect(r.status).toBe(200);
    expect(lseErrors('LSEJWTSettings', r.body)).toEqual([]);
    expect(r.body).toEqual({ api_tokens_enabled: true, legacy_api_tokens_enabled: true, api_token_ttl_days: 30 });
  });

  it.each(['MA', 'RE', 'AN'] as const)('refuses %s with 403 on reading and on changing the policy', async (role) => {
    const m = await member(role);
    expect(await call('GET', '/api/jwt/settings', { token: m.token })).toMatchObject({ status: 403, body: { detail: expect.any(String) } });
    expect((await policy({ api_token_ttl_days: 30, api_tokens_enabled: false }, { authorization: `Token ${m.token}` })).status).toBe(403);
    expect((await call('GET', '/api/jwt/settings', { token: OWNER_TOKEN })).body.api_tokens_enabled).toBe(true);
  });

  it('lets an Administrator read and change the policy (SPEC: token policy is OW/AD)', async () => {
    const ad = await member('AD');
    expect((await call('GET', '/api/jwt/settings', { token: ad.token })).status).toBe(200);
    try {
      expect(await policy({ api_token_ttl_days: 7 }, { authorization: `Token ${ad.token}` })).toMatchObject({ status: 201, body: { api_token_ttl_days: 7 } });
    } finally {
      expect((await policy({ api_token_ttl_days: 30 })).status).toBe(201);
    }
  });

  it('answers concurrent policy changes with 201 or 409 only, keeping one of the accepted values', async () => {
    try {
      const replies = await Promise.all([10, 11, 12, 13, 14].map((ttl) => policy({ api_token_ttl_days: ttl })));
      for (const r of replies) expect([201, 409]).toContain(r.status);
      const accepted = replies.filter((r) => r.status === 201).map((r) => r.body.api_token_ttl_days);
      expect(accepted.length).toBeGreaterThan(0);
      const now = (await call('GET', '/api/jwt/settings', { token: OWNER_TOKEN })).body;
      expect(accepted).toContain(now.api_token_ttl_days);
      expect(now).toMatchObject({ api_tokens_enabled: true, legacy_api_tokens_enabled: true });
    } finally {
      expect((await policy({ api_token_ttl_days: 30 })).status).toBe(201);
    }
  });

  it('switching API tokens off fails access tokens on the next request, refresh and PAT creation; switching on restores them', async () => {
    const m = await member();
    const pat = await newPat(m.token);
    const access = await accessFor(pat);
    const off = await policy({ api_token_ttl_days: 30, api_tokens_enabled: false });
    try {
      expect(off.status).toBe(201);
      expect(off.body).toMatchObject({ api_tokens_enabled: false, api_token_ttl_days: 30 });
      expect((await call('GET', '/api/jwt/settings', { token: OWNER_TOKEN })).body.api_tokens_enabled).toBe(false);
      expect(await whoamiWith(bearer(access))).toMatchObject({ status: 401, body: { detail: expect.any(String) } });
      expect(await refresh(pat)).toMatchObject({ status: 401, body: { detail: expect.any(String) } });
      expect((await call('POST', '/api/token/', { token: m.token })).status).toBe(403);
      expect((await whoami(m.token)).status).toBe(200);
    } finally {
      expect((await policy({ api_token_ttl_days: 30, api_tokens_enabled: true })).status).toBe(201);
    }
    expect((await whoamiWith(bearer(access))).status).toBe(200);
    expect((await whoamiWith(bearer(await accessFor(pat)))).status).toBe(200);
    await newPat(m.token);
  });

  it('switching legacy tokens off refuses Token requests at once; a Bearer access token switches them back on', async () => {
    const ownerAccess = await accessFor(await newPat(OWNER_TOKEN));
    const m = await member();
    const off = await policy({ api_token_ttl_days: 30, legacy_api_tokens_enabled: false });
    try {
      expect(off.status).toBe(201);
      expect(off.body).toMatchObject({ legacy_api_tokens_enabled: false, api_tokens_enabled: true });
      expect(await whoami(OWNER_TOKEN)).toMatchObject({ status: 401, body: { detail: expect.any(String) } });
      expect((await whoami(m.token)).status).toBe(401);
      expect((await whoamiWith(bearer(ownerAccess))).status).toBe(200);
    } finally {
      const on = await policy({ api_token_ttl_days: 30, legacy_api_tokens_enabled: true }, bearer(ownerAccess));
      expect(on.status).toBe(201);
    }
    expect((await whoami(OWNER_TOKEN)).status).toBe(200);
    expect((await whoami(m.token)).status).toBe(200);
  });

  it('gives new PATs the configured lifetime', async () => {
    const m = await member();
    try {
      expect((await policy({ api_token_ttl_days: 1 })).status).toBe(201);
      const r = await call('POST', '/api/token/', { token: m.token });
      expect(r.status).toBe(201);
      keep(r.body.token);
      expect(Date.parse(r.body.expires_at) - Date.parse(r.body.created_at)).toBe(86_400_000);
    } finally {
      expect((await policy({ api_token_ttl_days: 30 })).status).toBe(201);
    }
  });

  it.each([0, -1, 73001, 1.5, '30', null])('answers 400 with {detail} for api_token_ttl_days %j, changing nothing', async (ttl) => {
    const r = await policy({ api_token_ttl_days: ttl, api_tokens_enabled: false });
    expect(r.status).toBe(400);
    expect(typeof r.body.detail).toBe('string');
    expect((await call('GET', '/api/jwt/settings', { token: OWNER_TOKEN })).body).toEqual({ api_tokens_enabled: true, legacy_api_tokens_enabled: true, api_token_ttl_days: 30 });
  });

  it('accepts the bounds 1 and 73000', async () => {
    try {
      for (const ttl of [1, 73000]) expect(await policy({ api_token_ttl_days: ttl })).toMatchObject({ status: 201, body: { api_token_ttl_days: ttl } });
    } finally {
      expect((await policy({ api_token_ttl_days: 30 })).status).toBe(201);
    }
  });
});

describe('the "Create API tokens" permission', () => {
  it('when the Owner narrows it to other roles, refuses an Annotator new tokens at once while others keep them; the default restores it', async () => {
    const an = await member('AN');
    await newPat(an.token);
    const set = await call('POST', '/api/organizations/1/permissions', { token: OWNER_TOKEN, body: { permission: 'tokens.own', roles: ['AD', 'MA', 'RE'] } });
    try {
      expect(set.status).toBe(200);
      // Refused either as a forbidden action (403) or, where the restriction also covers using tokens, at authentication (401).
      const created = await call('POST', '/api/token/', { token: an.token });
      expect([401, 403]).toContain(created.status);
      expect(created.body).toEqual({ detail: expect.any(String) });
      expect([401, 403]).toContain((await call('POST', '/api/current-user/reset-token/', { token: an.token })).status);
      const re = await member('RE');
      await newPat(re.token);
      await newPat(OWNER_TOKEN);
    } finally {
      expect((await call('DELETE', '/api/organizations/1/permissions/tokens.own', { token: OWNER_TOKEN })).status).toBe(204);
    }
    await newPat(an.token);
  });
});

describe('bad input', () => {
  it.each([
    ['an empty object', '{}'],
    ['a numeric refresh', '{"refresh": 123}'],
    ['an empty refresh', '{"refresh": ""}'],
    ['malformed JSON', '{"refresh": '],
    ['a JSON array', '[]'],
    ['an empty body', ''],
  ])('refresh answers 400 with {detail} for %s', async (_, raw) => {
    const r = await call('POST', '/api/token/refresh/', { raw, headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(400);
    expect(typeof r.body.detail).toBe('string');
  });

  it('refresh answers 401 for a token that is not a PAT (a legacy token, garbage)', async () => {
    const m = await member();
    for (const t of [m.token, 'rpat_nothing', 'x'.repeat(512)]) expect(await refresh(t)).toMatchObject({ status: 401, body: { detail: expect.any(String) } });
  });

  it('refuses to rotate or blacklist another user\'s PAT, which keeps working', async () => {
    const victim = await member();
    const attacker = await member('AD');
    const pat = await newPat(victim.token);
    const rotated = await call('POST', '/api/token/rotate/', { token: attacker.token, body: { refresh: pat } });
    expect([401, 404]).toContain(rotated.status);
    expect(rotated.body).toEqual({ detail: expect.any(String) });
    const bl = await call('POST', '/api/token/blacklist/', { token: OWNER_TOKEN, body: { refresh: pat } });
    expect(bl.status).toBe(404);
    expect((await whoamiWith(bearer(await accessFor(pat)))).status).toBe(200);
  });

  it('refuses to rotate a PAT of another organization\'s member, which keeps working', async () => {
    const other = await otherOrg(db, 'Tokens Other');
    keep(other.owner.token);
    const pat = await newPat(other.owner.token);
    const m = await member();
    const r = await call('POST', '/api/token/rotate/', { token: m.token, body: { refresh: pat } });
    expect([401, 404]).toContain(r.status);
    expect((await whoamiWith(bearer(await accessFor(pat)))).body).toMatchObject({ id: other.owner.userId });
  });

  it('rotate and blacklist answer 400 with {detail} for a missing refresh', async () => {
    const m = await member();
    for (const path of ['/api/token/rotate/', '/api/token/blacklist/']) {
      const r = await call('POST', path, { token: m.token, body: {} });
      expect(r.status).toBe(400);
      expect(typeof r.body.detail).toBe('string');
    }
  });

  it('refuses Bearer tokens that are not Roster access tokens or are tampered with', async () => {
    const m = await member();
    const access = await accessFor(await newPat(m.token));
    const [h, p, s] = access.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: '1' })).toString('base64url')}.${s}`;
    for (const t of [forged, `${access}x`, 'not.a.jwt']) expect((await whoamiWith(bearer(t))).status).toBe(401);
  });
});

describe('secrets', () => {
  it('never stores any token this file created or used in the table', async () => {
    expect(secrets.size).toBeGreaterThan(20);
    const items = await scanAll();
    expect(items.length).toBeGreaterThan(10);
    const leaks = items.flatMap((item) => {
      const text = JSON.stringify(item);
      return [...secrets].filter((s) => text.includes(s)).map((s) => `${item.PK} ${item.SK}: ${s.slice(0, 12)}…`);
    });
    expect(leaks).toEqual([]);
  });

  it('never writes any of them to the request log', () => {
    expect(roster.lines.length).toBeGreaterThan(50);
    const log = roster.lines.join('\n');
    expect([...secrets].filter((s) => log.includes(s)).map((s) => `${s.slice(0, 12)}…`)).toEqual([]);
  });
});
