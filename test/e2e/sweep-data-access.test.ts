/**
 * Authorization sweep for workspaces, projects and access checks: every endpoint, called as every
 * role, as a member and as a non-member of the workspace, from another organization and without
 * credentials, against the status SPEC §1–§2 give. A resource the caller cannot read is 404 (not
 * revealed); one they can read but not act on is 403.
 */
import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../lib/core/db.js';
import type { Principal } from '../../lib/core/model.js';
import { addProjectMember, createProject, setProjectRole } from '../../lib/access/projects.js';
import type { Role } from '../../lib/core/roles.js';
import { addWorkspaceMember, createWorkspace } from '../../lib/access/workspaces.js';
import { type Member, addMember, otherOrg, softDelete } from '../support/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

const CALLERS = ['OW', 'AD', 'MA_in', 'RE_in', 'AN_in', 'MA_out', 'AN_out', 'NO', 'DI', 'DEL', 'OTHER', 'NONE'] as const;
type Caller = (typeof CALLERS)[number];
const IN = ['MA_in', 'RE_in', 'AN_in'] as const;
const ADMINS: Caller[] = ['OW', 'AD'];

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let db: Db;
let who: Record<Exclude<Caller, 'NONE'>, Member>;
let ws: number;
let project: number;
let n = 0;
const owner: Principal = { userId: 1, orgId: 1, role: 'OW', via: 'token', overrides: {} };

/** A workspace with the three "_in" callers as members, and a project in it. */
async function freshWorkspace(): Promise<{ ws: number; project: number }> {
  const w = await createWorkspace(db, owner, { title: `W${++n}` });
  for (const c of IN) await addWorkspaceMember(db, owner, w.id, who[c].userId);
  const p = await createProject(db, owner, { title: `P${n}`, workspace: w.id });
  return { ws: w.id, project: p.id };
}

interface Row {
  name: string;
  method: string;
  path: () => string | Promise<string>;
  body?: () => unknown;
  ok: number;
  /** Organization-1 callers that succeed; other readers get 403; those who cannot read get 404. */
  allowed: Caller[];
  /** Callers who can read the resource (default: admins and the workspace's members). */
  readers?: Caller[];
  /** Another organization's Owner: 'ok' (their own organization) or a status. */
  other: 'ok' | number;
}

const READERS: Caller[] = [...ADMINS, ...IN];
const MANAGERS_IN: Caller[] = [...ADMINS, 'MA_in'];
const EVERYONE: Caller[] = [...ADMINS, ...IN, 'MA_out', 'AN_out'];

const rows: Row[] = [
  { name: 'list workspaces', method: 'GET', path: () => '/api/workspaces/', ok: 200, allowed: EVERYONE, readers: EVERYONE, other: 'ok' },
  { name: 'create workspace', method: 'POST', path: () => '/api/workspaces/', body: () => ({ title: `New ${++n}` }), ok: 201, allowed: [...ADMINS, 'MA_in', 'MA_out'], readers: EVERYONE, other: 'ok' },
  { name: 'get workspace', method: 'GET', path: () => `/api/workspaces/${ws}/`, ok: 200, allowed: READERS, other: 404 },
  { name: 'update workspace', method: 'PATCH', path: () => `/api/workspaces/${ws}/`, body: () => ({ description: 'd' }), ok: 200, allowed: MANAGERS_IN, other: 404 },
  { name: 'delete workspace', method: 'DELETE', path: async () => `/api/workspaces/${(await emptyWorkspace())}/`, ok: 204, allowed: MANAGERS_IN, other: 404 },
  { name: 'list workspace members', method: 'GET', path: () => `/api/workspaces/${ws}/memberships/`, ok: 200, allowed: MANAGERS_IN, other: 404 },
  { name: 'add workspace member', method: 'POST', path: () => `/api/workspaces/${ws}/memberships/`, body: async () => ({ user: (await addMember(db, 1, 'AN')).userId }), ok: 200, allowed: MANAGERS_IN, other: 404 },
  {
    name: 'remove workspace member',
    method: 'DELETE',
    path: async () => {
      const m = await addMember(db, 1, 'AN');
      await addWorkspaceMember(db, owner, ws, m.userId);
      return `/api/workspaces/${ws}/memberships/?user_id=${m.userId}`;
    },
    ok: 204,
    allowed: MANAGERS_IN,
    other: 404,
  },
  { name: 'page workspace members', method: 'GET', path: () => `/api/workspaces/${ws}/memberships/paginated/`, ok: 200, allowed: MANAGERS_IN, other: 404 },
  { name: 'bulk add workspace members', method: 'POST', path: () => `/api/workspaces/${ws}/memberships/bulk/`, body: async () => ({ all: false, included: [(await addMember(db, 1, 'AN')).userId] }), ok: 200, allowed: MANAGERS_IN, other: 404 },
  { name: 'bulk remove workspace members', method: 'DELETE', path: async () => `/api/workspaces/${ws}/memberships/bulk/?included=${(await addMember(db, 1, 'AN')).userId}`, ok: 200, allowed: MANAGERS_IN, other: 404 },
  { name: 'list workspace projects', method: 'GET', path: () => `/api/workspaces/${ws}/projects/`, ok: 200, allowed: READERS, other: 404 },
  { name: 'move project into workspace', method: 'POST', path: () => `/api/workspaces/${ws}/projects/`, body: async () => ({ project: (await createProject(db, owner, { title: 'm', workspace: ws })).id }), ok: 201, allowed: MANAGERS_IN, other: 404 },
  { name: 'take project out of workspace', method: 'DELETE', path: async () => `/api/workspaces/${ws}/projects/?project=${(await createProject(db, owner, { title: 't', workspace: ws })).id}`, ok: 204, allowed: MANAGERS_IN, other: 404 },
  { name: 'list projects', method: 'GET', path: () => '/api/projects/', ok: 200, allowed: EVERYONE, readers: EVERYONE, other: 'ok' },
  { name: 'create project in workspace', method: 'POST', path: () => '/api/projects/', body: () => ({ title: 'x', workspace: ws }), ok: 201, allowed: MANAGERS_IN, other: 404 },
  { name: 'get project', method: 'GET', path: () => `/api/projects/${project}/`, ok: 200, allowed: READERS, other: 404 },
  { name: 'update project', method: 'PATCH', path: () => `/api/projects/${project}/`, body: () => ({ description: 'd' }), ok: 200, allowed: MANAGERS_IN, other: 404 },
  { name: 'delete project', method: 'DELETE', path: async () => `/api/projects/${(await createProject(db, owner, { title: 'del', workspace: ws })).id}/`, ok: 204, allowed: MANAGERS_IN, other: 404 },
  { name: 'list project members', method: 'GET', path: () => `/api/projects/${project}/members/`, ok: 200, allowed: READERS, other: 404 },
  { name: 'add project member', method: 'POST', path: () => `/api/projects/${project}/members/`, body: async () => ({ user: (await addMember(db, 1, 'AN')).userId }), ok: 201, allowed: MANAGERS_IN, other: 404 },
  {
    name: 'remove project member',
    method: 'DELETE',
    path: async () => {
      const m = await addMember(db, 1, 'AN');
      await addProjectMember(db, owner, project, m.userId);
      return `/api/projects/${project}/members/?user=${m.userId}`;
    },
    ok: 204,
    allowed: MANAGERS_IN,
    other: 404,
  },
  { name: 'page project members', method: 'GET', path: () => `/api/projects/${project}/members/paginated/`, ok: 200, allowed: READERS, other: 404 },
  { name: 'export project members', method: 'GET', path: () => `/api/projects/${project}/members/export/`, ok: 200, allowed: READERS, other: 404 },
  { name: 'bulk add project members', method: 'POST', path: () => `/api/projects/${project}/members/bulk/`, body: async () => ({ all: false, included: [(await addMember(db, 1, 'AN')).userId] }), ok: 200, allowed: MANAGERS_IN, other: 404 },
  { name: 'bulk remove project members', method: 'DELETE', path: async () => `/api/projects/${project}/members/bulk/?included=${(await addMember(db, 1, 'AN')).userId}`, ok: 200, allowed: MANAGERS_IN, other: 404 },
  { name: 'project roles of a project', method: 'GET', path: () => `/api/projects/${project}/roles`, ok: 200, allowed: READERS, other: 404 },
  { name: 'list project roles', method: 'GET', path: () => '/api/projects/roles/', ok: 200, allowed: [...ADMINS, 'MA_in', 'MA_out'], readers: EVERYONE, other: 'ok' },
  { name: 'set project role', method: 'POST', path: () => '/api/projects/roles/', body: async () => ({ project, user: (await addMember(db, 1, 'AN')).userId, role: 'RE' }), ok: 201, allowed: MANAGERS_IN, other: 404 },
  {
    name: 'delete project role',
    method: 'DELETE',
    path: async () => `/api/projects/roles/${(await setProjectRole(db, owner, { project, user: (await addMember(db, 1, 'AN')).userId, role: 'RE' })).id}/`,
    ok: 204,
    allowed: MANAGERS_IN,
    other: 404,
  },
  {
    name: 'job status (a job of the Owner)',
    method: 'GET',
    path: async () => {
      const id = randomUUID();
      await db.doc.send(
        new PutCommand({
          TableName: db.table,
          Item: { PK: 'ORG#0000000001', SK: `JOB#${id}`, type: 'job', id, organization: 1, kind: 'workspace.assign', target: ws, all: true, included: [], excluded: [], status: 'done', cursor: 0, processed: 0, created_by: 1, created_at: new Date().toISOString(), finished_at: new Date().toISOString() },
        }),
      );
      return `/api/jobs/${id}`;
    },
    ok: 200,
    // Only its creator (the Owner here) and the Administrators see it; to anyone else it does not exist.
    allowed: ADMINS,
    readers: ADMINS,
    other: 404,
  },
  { name: 'check own access', method: 'POST', path: () => '/api/access/check', body: () => ({ user_id: selfId, action: 'project.read', project_id: project }), ok: 200, allowed: EVERYONE, readers: EVERYONE, other: 'ok' },
  { name: 'own accessible projects', method: 'GET', path: () => `/api/users/${selfId}/accessible-projects`, ok: 200, allowed: EVERYONE, readers: EVERYONE, other: 'ok' },
];

let selfId = 0;
async function emptyWorkspace(): Promise<number> {
  const w = await createWorkspace(db, owner, { title: `E${++n}` });
  for (const c of IN) await addWorkspaceMember(db, owner, w.id, who[c].userId);
  return w.id;
}

function expected(row: Row, caller: Caller): number {
  if (caller === 'NONE' || caller === 'NO' || caller === 'DI' || caller === 'DEL') return 401;
  if (caller === 'OTHER') return row.other === 'ok' ? row.ok : row.other;
  if (row.allowed.includes(caller)) return row.ok;
  return (row.readers ?? READERS).includes(caller) ? 403 : 404;
}

beforeAll(async () => {
  roster = await startTestRoster();
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  const m = (role: Role) => addMember(db, 1, role);
  const other = await otherOrg(db);
  who = {
    OW: { userId: 1, email: 'owner@example.com', token: OWNER_TOKEN },
    AD: await m('AD'),
    MA_in: await m('MA'),
    RE_in: await m('RE'),
    AN_in: await m('AN'),
    MA_out: await m('MA'),
    AN_out: await m('AN'),
    NO: await m('NO'),
    DI: await m('DI'),
    DEL: await m('AN'),
    OTHER: other.owner,
  };
  ({ ws, project } = await freshWorkspace());
  // The deleted member was in the workspace: deletion must still shut them out.
  await addWorkspaceMember(db, owner, ws, who.DEL.userId);
  await softDelete(db, 1, who.DEL.userId);
}, 60_000);
afterAll(() => roster?.stop());

describe('authorization sweep: workspaces, projects, access checks', () => {
  const cases = rows.flatMap((row) => CALLERS.map((caller) => ({ row, caller, label: `${row.method} ${row.name} as ${caller}` })));
  it.each(cases)('$label', async ({ row, caller }) => {
    selfId = caller === 'NONE' ? 1 : who[caller].userId;
    const token = caller === 'NONE' ? undefined : who[caller].token;
    const path = await row.path();
    const body = row.body ? await row.body() : undefined;
    const r = await client(roster.url)(row.method, path, { token, body });
    // The change context every item is stamped with (`_ctx`) never leaves the table.
    expect(JSON.stringify(r.body ?? '')).not.toContain('_ctx');
    const want = expected(row, caller);
    expect({ status: r.status, body: r.status === want ? undefined : r.body }).toEqual({ status: want, body: undefined });
    if (r.status >= 400) expect(typeof r.body.detail).toBe('string');
  });

  it('covers every workspace, project and access-check route', async () => {
    const { routes } = await import('../../functions/routes.js');
    const dataAccess = /^\/api\/(workspaces|projects|access|jobs)\/|accessible-projects$/;
    expect(rows.length).toBe(routes.filter((r) => dataAccess.test(r.path)).length);
  });
});
