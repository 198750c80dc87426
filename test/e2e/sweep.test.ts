/**
 * Authorization sweep: every endpoint of organization user management, called as each kind of
 * caller, against the status the permission matrix (SPEC §1) and the membership rules (§2–§4) say.
 * Bodies of successful LSE calls are validated against LSE's OpenAPI schemas.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../lib/core/db.js';
import { setOverride } from '../../lib/org/overrides.js';
import type { Principal } from '../../lib/core/model.js';
import type { Role } from '../../lib/core/roles.js';
import { createPat, resetLegacyToken } from '../../lib/org/tokens.js';
import { createScimToken } from '../../lib/federation/scim/tokens.js';
import { startExport } from '../../lib/audit/exports.js';
import { transferOwnership } from '../../lib/org/organizations.js';
import { type Member, addMember, otherOrg, softDelete } from '../support/db.js';
import { lseErrors, lseListErrors } from '../support/lse-schema.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

const CALLERS = ['OW', 'AD', 'MA', 'RE', 'AN', 'NO', 'DI', 'DEL', 'OTHER', 'NONE'] as const;
type Caller = (typeof CALLERS)[number];
const ACTIVE: Caller[] = ['OW', 'AD', 'MA', 'RE', 'AN'];

interface Ctx {
  db: Db;
  who: Record<Exclude<Caller, 'NONE'>, Member & { orgId: number }>;
  fresh: (role?: Role) => Promise<Member>;
  seq: () => number;
}

interface Row {
  name: string;
  method: string;
  path: (ctx: Ctx, caller: Caller) => string | Promise<string>;
  body?: (ctx: Ctx, caller: Caller) => unknown;
  /** Status on success. */
  ok: number;
  /** Active organization-1 roles that succeed; the other active roles get 403. */
  allowed: Caller[];
  /** The Owner of another organization: 'ok' (acts in their own organization) or a status. */
  other: 'ok' | number;
  /** Without credentials (default 401). */
  none?: number;
  /** NO, DI and deleted members (default 401). */
  inactive?: number;
  /** Every active organization-1 caller, when the route answers them all alike (overrides `allowed`). */
  active?: number;
  schema?: string;
  list?: boolean;
  after?: (ctx: Ctx, caller: Caller, status: number) => Promise<void>;
}

const principal = (m: Member & { orgId: number }, role: Role): Principal => ({ userId: m.userId, orgId: m.orgId, role, via: 'token', overrides: {} });
const ADMINS: Caller[] = ['OW', 'AD'];
const MANAGERS: Caller[] = ['OW', 'AD', 'MA'];

const rows: Row[] = [
  // users
  { name: 'list users', method: 'GET', path: () => '/api/users/', ok: 200, allowed: MANAGERS, other: 'ok', schema: 'LseUserAPI', list: true },
  { name: 'create user', method: 'POST', path: () => '/api/users/', body: (c) => ({ email: `new${c.seq()}@example.com` }), ok: 201, allowed: ADMINS, other: 'ok', schema: 'LseUser' },
  { name: 'get user', method: 'GET', path: (c) => `/api/users/${c.who.AN.userId}/`, ok: 200, allowed: [...MANAGERS, 'AN'], other: 404, schema: 'LseUser' },
  { name: 'patch user', method: 'PATCH', path: (c) => `/api/users/${c.who.RE.userId}/`, body: () => ({ first_name: 'Renamed' }), ok: 200, allowed: [...ADMINS, 'RE'], other: 404, schema: 'LseUser' },
  { name: 'delete user', method: 'DELETE', path: async (c) => `/api/users/${(await c.fresh()).userId}/`, ok: 204, allowed: ADMINS, other: 404 },
  { name: 'current user', method: 'GET', path: () => '/api/current-user', ok: 200, allowed: ACTIVE, other: 'ok', schema: 'LseUserAPI' },
  { name: 'patch current user', method: 'PATCH', path: () => '/api/current-user', body: () => ({ last_name: 'Same' }), ok: 200, allowed: ACTIVE, other: 'ok', schema: 'LseUserAPI' },
  { name: 'whoami', method: 'GET', path: () => '/api/current-user/whoami', ok: 200, allowed: ACTIVE, other: 'ok', schema: 'WhoAmIUser' },
  { name: 'legacy token', method: 'GET', path: () => '/api/current-user/token', ok: 200, allowed: ACTIVE, other: 'ok' },
  {
    name: 'reset legacy token',
    method: 'POST',
    path: () => '/api/current-user/reset-token/',
    ok: 201,
    allowed: ACTIVE,
    other: 'ok',
    // Put the caller's known token back so the sweep can go on calling as them.
    after: async (c, caller, status) => {
      if (status === 201 && caller !== 'NONE') await resetLegacyToken(c.db, c.who[caller].orgId, c.who[caller].userId, c.who[caller].token);
    },
  },
  // organizations
  { name: 'list organizations', method: 'GET', path: () => '/api/organizations/', ok: 200, allowed: ACTIVE, other: 'ok', schema: 'OrganizationId', list: true },
  { name: 'create organization', method: 'POST', path: () => '/api/organizations/', body: (c) => ({ title: `Org ${c.seq()}` }), ok: 201, allowed: ACTIVE, other: 'ok', schema: 'OrganizationId' },
  { name: 'get organization', method: 'GET', path: () => '/api/organizations/1', ok: 200, allowed: ACTIVE, other: 404, schema: 'LseOrganization' },
  { name: 'patch organization', method: 'PATCH', path: () => '/api/organizations/1', body: () => ({ title: 'Roster' }), ok: 200, allowed: ADMINS, other: 404, schema: 'LseOrganization' },
  { name: 'set default role', method: 'PATCH', path: () => '/api/organizations/1/set-default-role', body: () => ({ default_role: 'AN' }), ok: 200, allowed: ADMINS, other: 404, schema: 'DefaultRole' },
  { name: 'list members', method: 'GET', path: () => '/api/organizations/1/memberships', ok: 200, allowed: MANAGERS, other: 404, schema: 'PaginatedLseOrganizationMemberListList' },
  { name: 'assign role', method: 'PATCH', path: () => '/api/organizations/1/memberships', body: async (c) => ({ user_id: (await c.fresh()).userId, role: 'RE' }), ok: 200, allowed: ADMINS, other: 404, schema: 'LseOrganizationMemberList' },
  { name: 'get member', method: 'GET', path: (c) => `/api/organizations/1/memberships/${c.who.AN.userId}/`, ok: 200, allowed: [...MANAGERS, 'AN'], other: 404, schema: 'OrganizationMember' },
  { name: 'delete member', method: 'DELETE', path: async (c) => `/api/organizations/1/memberships/${(await c.fresh()).userId}/`, ok: 204, allowed: ADMINS, other: 404 },
  {
    name: 'transfer ownership',
    method: 'POST',
    path: () => '/api/organizations/1/transfer-ownership',
    body: (c) => ({ user_id: c.who.AD.userId }),
    ok: 200,
    allowed: ['OW'],
    other: 404,
    schema: 'LseOrganizationMemberList',
    after: async (c, _caller, status) => {
      if (status === 200) await transferOwnership(c.db, principal(c.who.AD, 'OW'), 1, c.who.OW.userId);
    },
  },
  { name: 'list permission overrides', method: 'GET', path: () => '/api/organizations/1/permissions', ok: 200, allowed: ADMINS, other: 404, schema: 'OrganizationPermission', list: true },
  { name: 'create permission override', method: 'POST', path: () => '/api/organizations/1/permissions', body: () => ({ permission: 'project.delete', roles: ['AD', 'MA'] }), ok: 200, allowed: ['OW'], other: 404, schema: 'OrganizationPermission' },
  { name: 'permission options', method: 'GET', path: () => '/api/organizations/1/permissions/options', ok: 200, allowed: ADMINS, other: 404, schema: 'ConfigurablePermissionOption', list: true },
  { name: 'get permission override', method: 'GET', path: () => '/api/organizations/1/permissions/project.delete', ok: 200, allowed: ADMINS, other: 404, schema: 'OrganizationPermission' },
  { name: 'put permission override', method: 'PUT', path: () => '/api/organizations/1/permissions/project.delete', body: () => ({ permission: 'project.delete', roles: ['AD', 'MA'] }), ok: 200, allowed: ['OW'], other: 404, schema: 'OrganizationPermission' },
  { name: 'patch permission override', method: 'PATCH', path: () => '/api/organizations/1/permissions/project.delete', body: () => ({ roles: ['AD', 'MA'] }), ok: 200, allowed: ['OW'], other: 404, schema: 'OrganizationPermission' },
  {
    name: 'reset permission override',
    method: 'DELETE',
    path: () => '/api/organizations/1/permissions/project.delete',
    ok: 204,
    allowed: ['OW'],
    other: 404,
    after: async (c, _caller, status) => {
      if (status === 204) await setOverride(c.db, principal(c.who.OW, 'OW'), 1, 'project.delete', ['AD', 'MA']);
    },
  },
  // invites
  { name: 'invite link', method: 'GET', path: () => '/api/invite', ok: 200, allowed: ADMINS, other: 'ok', schema: 'OrganizationInvite' },
  { name: 'reset invite link', method: 'POST', path: () => '/api/invite/reset-token', ok: 201, allowed: ADMINS, other: 'ok', schema: 'OrganizationInvite' },
  { name: 'send invites', method: 'POST', path: () => '/api/invite/send-email', body: (c) => ({ emails: [`invitee${c.seq()}@example.com`], role: 'AN' }), ok: 200, allowed: ADMINS, other: 'ok' },
  {
    name: 'revoke invite',
    method: 'POST',
    path: () => '/api/invite/revoke',
    body: async (c, caller) => {
      // An invitation in the caller's organization to revoke (sent by its Owner).
      const email = `revokable${c.seq()}@example.com`;
      const inviter = caller === 'OTHER' ? c.who.OTHER.token : OWNER_TOKEN;
      await client(base)('POST', '/api/invite/send-email', { token: inviter, body: { emails: [email] } });
      return { email };
    },
    ok: 200,
    allowed: ADMINS,
    other: 'ok',
  },
  {
    name: 'sign up through the invite link',
    method: 'POST',
    path: () => '/api/invite/signup',
    body: async (c) => {
      const link = await client(base)('GET', '/api/invite', { token: OWNER_TOKEN });
      return { token: link.body.token, email: `joiner${c.seq()}@example.com` };
    },
    ok: 201,
    // A new person signs up without credentials; a signed-in caller must use their own address.
    allowed: [],
    active: 400,
    other: 400,
    none: 201,
    schema: 'LseUser',
  },
  // SCIM settings (group mappings) and SCIM tokens (the SCIM protocol under /scim/v2/ has its own credential: test/e2e/scim-users.test.ts)
  { name: 'SCIM settings', method: 'GET', path: () => '/api/scim/settings', ok: 200, allowed: ADMINS, other: 'ok' },
  { name: 'save SCIM settings', method: 'POST', path: () => '/api/scim/settings', body: () => ({}), ok: 201, allowed: ADMINS, other: 'ok' },
  { name: 'list SCIM tokens', method: 'GET', path: () => '/api/scim/tokens', ok: 200, allowed: ADMINS, other: 'ok' },
  { name: 'create SCIM token', method: 'POST', path: () => '/api/scim/tokens', ok: 201, allowed: ADMINS, other: 'ok' },
  { name: 'revoke SCIM token', method: 'DELETE', path: async (c) => `/api/scim/tokens/${(await createScimToken(c.db, principal(c.who.OW, 'OW'))).id}`, ok: 204, allowed: ADMINS, other: 404 },
  // SSO settings and domain checks (saving, resetting and metadata fetches need the user pool and the network: saml-settings tests)
  { name: 'SAML settings', method: 'GET', path: () => '/api/saml/settings', ok: 200, allowed: ADMINS, other: 'ok' },
  { name: 'validate SSO domain', method: 'POST', path: () => '/api/saml/settings/validate-domain', body: () => ({ domain: 'sweep-corp.io' }), ok: 200, allowed: ADMINS, other: 'ok' },
  // seat report and access reviews (an instance's own routes need a built instance: access-reviews and certification tests)
  { name: 'seat report', method: 'GET', path: () => '/api/organizations/1/seat-report', ok: 200, allowed: ADMINS, other: 404 },
  { name: 'access review definitions', method: 'GET', path: () => '/api/access-reviews/definitions/', ok: 200, allowed: ADMINS, other: 'ok' },
  { name: 'access review instances', method: 'GET', path: () => '/api/access-reviews/instances/', ok: 200, allowed: ADMINS, other: 'ok' },
  // tokens
  { name: 'list personal access tokens', method: 'GET', path: () => '/api/token/', ok: 200, allowed: ACTIVE, other: 'ok', schema: 'LSEAPITokenList', list: true },
  { name: 'create personal access token', method: 'POST', path: () => '/api/token/', ok: 201, allowed: ACTIVE, other: 'ok', schema: 'LSEAPITokenCreate' },
  {
    name: 'refresh (credential: the personal access token)',
    method: 'POST',
    path: () => '/api/token/refresh/',
    body: async (c) => ({ refresh: (await createPat(c.db, principal(c.who.OW, 'OW'))).token }),
    ok: 200,
    allowed: ACTIVE,
    other: 'ok',
    none: 200,
    inactive: 200,
    schema: 'TokenRefreshResponse',
  },
  {
    name: 'rotate personal access token',
    method: 'POST',
    path: () => '/api/token/rotate/',
    body: async (c, caller) => ({ refresh: caller === 'NONE' ? 'rpat_x' : await patOf(c, caller) }),
    ok: 200,
    allowed: ACTIVE,
    other: 'ok',
    schema: 'TokenRotateResponse',
  },
  {
    name: 'blacklist personal access token',
    method: 'POST',
    path: () => '/api/token/blacklist/',
    body: async (c, caller) => ({ refresh: caller === 'NONE' ? 'rpat_x' : await patOf(c, caller) }),
    ok: 204,
    allowed: ACTIVE,
    other: 'ok',
  },
  { name: 'token policy', method: 'GET', path: () => '/api/jwt/settings', ok: 200, allowed: ADMINS, other: 'ok', schema: 'LSEJWTSettings' },
  { name: 'set token policy', method: 'POST', path: () => '/api/jwt/settings', body: () => ({ api_token_ttl_days: 30, api_tokens_enabled: true, legacy_api_tokens_enabled: true }), ok: 201, allowed: ADMINS, other: 'ok', schema: 'LSEJWTSettings' },
  // activity log and histories: the caller's own organization's, for its Owner and Administrators
  { name: 'activity log', method: 'GET', path: () => '/api/activity-logs/', ok: 200, allowed: ADMINS, other: 'ok', schema: 'ActivityLogResponse' },
  { name: 'activity log of a project', method: 'GET', path: async () => `/api/activity-logs/?project=${(await scope()).project}`, ok: 200, allowed: ADMINS, other: 403, schema: 'ActivityLogResponse' },
  { name: 'export activity log', method: 'POST', path: () => '/api/activity-logs/export', body: () => ({ format: 'ndjson' }), ok: 202, allowed: ADMINS, other: 'ok' },
  { name: 'export status', method: 'GET', path: async (c) => `/api/activity-logs/exports/${(await startExport(c.db, principal(c.who.OW, 'OW'), { format: 'csv' })).id}`, ok: 200, allowed: ADMINS, other: 403 },
  { name: 'verify activity log', method: 'GET', path: () => '/api/activity-logs/verify?start_date=2026-01-01&end_date=2026-01-02', ok: 200, allowed: ADMINS, other: 'ok' },
  { name: 'organization membership history', method: 'GET', path: () => '/api/fsm/organizations/1/membership-history/', ok: 200, allowed: ADMINS, other: 403, schema: 'PaginatedStateModelList' },
  { name: 'workspace membership history', method: 'GET', path: async () => `/api/fsm/workspaces/${(await scope()).workspace}/membership-history/`, ok: 200, allowed: ADMINS, other: 403, schema: 'PaginatedStateModelList' },
  { name: 'project membership history', method: 'GET', path: async () => `/api/fsm/projects/${(await scope()).project}/membership-history/`, ok: 200, allowed: ADMINS, other: 403, schema: 'PaginatedStateModelList' },
  { name: 'project role history', method: 'GET', path: async () => `/api/fsm/projects/${(await scope()).project}/role-history/`, ok: 200, allowed: ADMINS, other: 403, schema: 'PaginatedStateModelList' },
  // the API's own description: anyone, with or without a credential (a refused one is ignored)
  { name: "Roster's OpenAPI document", method: 'GET', path: () => '/api/schema/', ok: 200, allowed: ACTIVE, other: 'ok', active: 200, none: 200, inactive: 200 },
  { name: 'API reference page', method: 'GET', path: () => '/api/docs/', ok: 200, allowed: ACTIVE, other: 'ok', active: 200, none: 200, inactive: 200 },
  { name: "API reference page's script", method: 'GET', path: () => '/api/docs/swagger-ui-bundle.js', ok: 200, allowed: ACTIVE, other: 'ok', active: 200, none: 200, inactive: 200 },
];

/** A workspace and a project of organization 1, made once. */
let scoped: Promise<{ workspace: number; project: number }> | undefined;
const scope = () =>
  (scoped ??= (async () => {
    const call = client(base);
    const workspace = (await call('POST', '/api/workspaces/', { token: OWNER_TOKEN, body: { title: 'Sweep workspace' } })).body.id as number;
    const project = (await call('POST', '/api/projects/', { token: OWNER_TOKEN, body: { title: 'Sweep project', workspace } })).body.id as number;
    return { workspace, project };
  })());

/** A live personal access token of the caller (created directly when the caller is inactive). */
async function patOf(c: Ctx, caller: Exclude<Caller, 'NONE'>): Promise<string> {
  const role: Role = caller === 'OTHER' ? 'OW' : ACTIVE.includes(caller) ? (caller as Role) : 'AN';
  return (await createPat(c.db, principal(c.who[caller], role))).token;
}

function expected(row: Row, caller: Caller): number {
  if (caller === 'NONE') return row.none ?? 401;
  if (caller === 'NO' || caller === 'DI' || caller === 'DEL') return row.inactive ?? 401;
  if (caller === 'OTHER') return row.other === 'ok' ? row.ok : row.other;
  if (row.active !== undefined) return row.active;
  return row.allowed.includes(caller) ? row.ok : 403;
}

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let base: string;
let ctx: Ctx;

beforeAll(async () => {
  roster = await startTestRoster();
  base = roster.url;
  const db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  let n = 0;
  const inOrg1 = async (role: Role) => ({ ...(await addMember(db, 1, role)), orgId: 1 });
  const other = await otherOrg(db);
  const who = {
    OW: { userId: 1, email: 'owner@example.com', token: OWNER_TOKEN, orgId: 1 },
    AD: await inOrg1('AD'),
    MA: await inOrg1('MA'),
    RE: await inOrg1('RE'),
    AN: await inOrg1('AN'),
    NO: await inOrg1('NO'),
    DI: await inOrg1('DI'),
    DEL: await inOrg1('AN'),
    OTHER: { ...other.owner, orgId: other.orgId },
  };
  // The deleted member keeps the legacy token they had: it must be refused.
  await softDelete(db, 1, who.DEL.userId);
  ctx = { db, who, fresh: (role = 'AN') => addMember(db, 1, role), seq: () => ++n };
  await setOverride(db, principal(who.OW, 'OW'), 1, 'project.delete', ['AD', 'MA']);
});
afterAll(() => roster?.stop());

describe('authorization sweep', () => {
  const cases = rows.flatMap((row) => CALLERS.map((caller) => ({ row, caller, label: `${row.method} ${row.name} as ${caller}` })));

  it.each(cases)('$label', async ({ row, caller }) => {
    const want = expected(row, caller);
    const token = caller === 'NONE' ? undefined : ctx.who[caller].token;
    const path = await row.path(ctx, caller);
    const body = row.body ? await row.body(ctx, caller) : undefined;
    const r = await client(base)(row.method, path, { token, body });
    // The change context every item is stamped with (`_ctx`) never leaves the table.
    expect(JSON.stringify(r.body ?? '')).not.toContain('_ctx');
    await row.after?.(ctx, caller, r.status);
    expect({ status: r.status, body: r.status === want ? undefined : r.body }).toEqual({ status: want, body: undefined });
    if (r.status >= 400) expect(typeof r.body.detail).toBe('string');
    if (r.status < 300 && row.schema) {
      const errors = row.list ? lseListErrors(row.schema, r.body) : lseErrors(row.schema, r.body);
      expect(errors).toEqual([]);
    }
  });

  it('covers every organization user-management route of the route table', async () => {
    const { routes } = await import('../../functions/routes.js');
    const dataAccess = /^\/api\/(workspaces|projects|access|jobs)\/|accessible-projects$/;
    // Routes that need fixtures the sweep has not (a built review instance, a definition, the user
    // pool, a metadata server) are swept role by role in their own files.
    const elsewhere = (r: { method: string; path: string }) =>
      /^\/api\/access-reviews\/(instances|definitions)\/\{id\}/.test(r.path) ||
      (r.path.startsWith('/api/access-reviews/definitions/') && r.method === 'POST') ||
      (r.path.startsWith('/api/saml/settings') && !['GET /api/saml/settings', 'POST /api/saml/settings/validate-domain'].includes(`${r.method} ${r.path}`));
    expect(rows.filter((r) => r.name === 'activity log of a project')).toHaveLength(1);
    // One route has two rows: the activity log, with and without a project filter.
    // The SCIM protocol (/scim/v2/) authenticates with SCIM tokens and is swept in scim-users.test.ts.
    expect(rows.length - 1).toBe(routes.filter((r) => !dataAccess.test(r.path) && !r.path.startsWith('/scim/') && !elsewhere(r)).length);
  });
});
