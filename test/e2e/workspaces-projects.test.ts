import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../lib/core/db.js';
import { type Member, addMember, otherOrg } from '../support/db.js';
import { lseErrors } from '../support/lse-schema.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;
let manager: Member;

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  manager = await addMember(db, 1, 'MA');
});
afterAll(() => roster?.stop());

const workspace = async (title: string, token = OWNER_TOKEN) => (await call('POST', '/api/workspaces/', { token, body: { title } })).body as { id: number };
const project = async (title: string, ws: number | null, token = OWNER_TOKEN) =>
  (await call('POST', '/api/projects/', { token, body: { title, workspace: ws, expert_instruction: `label ${title}`, reviewer_instructions: `review ${title}` } })).body as { id: number };
const sees = async (token: string, projectId: number) => (await call('GET', `/api/projects/${projectId}/`, { token })).status === 200;
const accessible = async (token: string, userId: number) => (await call('GET', `/api/users/${userId}/accessible-projects`, { token })).body.results.map((p: { id: number }) => p.id);

describe('membership that cascades', () => {
  it('shows an Annotator added to a workspace all its projects at once, and none after removal', async () => {
    const ws = await workspace('Cascade');
    const projects = await Promise.all([project('c1', ws.id), project('c2', ws.id), project('c3', ws.id)]);
    const outside = await project('elsewhere', null);
    const an = await addMember(db, 1, 'AN');
    for (const p of projects) expect(await sees(an.token, p.id)).toBe(false);

    expect((await call('POST', `/api/workspaces/${ws.id}/memberships/`, { token: OWNER_TOKEN, body: { user: an.userId } })).status).toBe(200);
    for (const p of projects) expect(await sees(an.token, p.id)).toBe(true);
    expect(await sees(an.token, outside.id)).toBe(false);
    expect(await accessible(an.token, an.userId)).toEqual(projects.map((p) => p.id).sort((a, b) => a - b));
    // A project created in the workspace later is theirs too.
    const later = await project('c4', ws.id);
    expect(await sees(an.token, later.id)).toBe(true);

    expect((await call('DELETE', `/api/workspaces/${ws.id}/memberships/?user_id=${an.userId}`, { token: OWNER_TOKEN })).status).toBe(204);
    for (const p of [...projects, later]) expect(await sees(an.token, p.id)).toBe(false);
    expect(await accessible(an.token, an.userId)).toEqual([]);
  });

  it('moves implicit members with a project that moves to another workspace', async () => {
    const [a, b] = [await workspace('From'), await workspace('To')];
    const p = await project('mover', a.id);
    const inA = await addMember(db, 1, 'AN');
    const inB = await addMember(db, 1, 'AN');
    await call('POST', `/api/workspaces/${a.id}/memberships/`, { token: OWNER_TOKEN, body: { user: inA.userId } });
    await call('POST', `/api/workspaces/${b.id}/memberships/`, { token: OWNER_TOKEN, body: { user: inB.userId } });
    expect([await sees(inA.token, p.id), await sees(inB.token, p.id)]).toEqual([true, false]);
    expect((await call('POST', `/api/workspaces/${b.id}/projects/`, { token: OWNER_TOKEN, body: { project: p.id } })).status).toBe(201);
    expect([await sees(inA.token, p.id), await sees(inB.token, p.id)]).toEqual([false, true]);
    const counts = await Promise.all([a, b].map(async (w) => (await call('GET', `/api/workspaces/${w.id}/`, { token: OWNER_TOKEN })).body.projects_count));
    expect(counts).toEqual([0, 1]);
  });

  it('deletes a workspace only when it is empty (409 otherwise)', async () => {
    const ws = await workspace('Full');
    const p = await project('inside', ws.id);
    expect((await call('DELETE', `/api/workspaces/${ws.id}/`, { token: OWNER_TOKEN })).status).toBe(409);
    expect((await call('DELETE', `/api/projects/${p.id}/`, { token: OWNER_TOKEN })).status).toBe(204);
    expect((await call('DELETE', `/api/workspaces/${ws.id}/`, { token: OWNER_TOKEN })).status).toBe(204);
    expect((await call('GET', `/api/workspaces/${ws.id}/`, { token: OWNER_TOKEN })).status).toBe(404);
  });

  it('shows Managers the workspaces they created or belong to, Annotators only theirs, Admins all (LSE shape)', async () => {
    const mine = await workspace('Managed', manager.token);
    const other = await workspace('Not theirs');
    const list = (token: string) => call('GET', '/api/workspaces/', { token }).then((r) => r.body.map((w: { id: number }) => w.id));
    expect(await list(manager.token)).toContain(mine.id);
    expect(await list(manager.token)).not.toContain(other.id);
    expect(await list(OWNER_TOKEN)).toEqual(expect.arrayContaining([mine.id, other.id]));
    const an = await addMember(db, 1, 'AN');
    expect(await list(an.token)).toEqual([]);
    const one = await call('GET', `/api/workspaces/${mine.id}/`, { token: manager.token });
    expect(lseErrors('Workspace', one.body)).toEqual([]);
    expect((await call('GET', `/api/workspaces/${other.id}/`, { token: manager.token })).status).toBe(404);
    expect((await call('POST', '/api/workspaces/', { token: an.token, body: { title: 'x' } })).status).toBe(403);
  });
});

describe('project roles and instructions', () => {
  it('makes an Annotator with project role RE a reviewer in that project only, with the reviewer instructions', async () => {
    const ws = await workspace('Roles');
    const [p1, p2] = [await project('r1', ws.id), await project('r2', ws.id)];
    const an = await addMember(db, 1, 'AN');
    await call('POST', `/api/workspaces/${ws.id}/memberships/`, { token: OWNER_TOKEN, body: { user: an.userId } });
    const role = await call('POST', '/api/projects/roles/', { token: OWNER_TOKEN, body: { project: p1.id, user: an.userId, role: 'RE' } });
    expect(role.status).toBe(201);
    expect(lseErrors('ProjectRole', role.body)).toEqual([]);
    const r1 = (await call('GET', `/api/projects/${p1.id}/`, { token: an.token })).body;
    const r2 = (await call('GET', `/api/projects/${p2.id}/`, { token: an.token })).body;
    expect(r1).toMatchObject({ effective_role: 'RE', reviewer_instructions: 'review r1' });
    expect(r1.expert_instruction).toBeUndefined();
    expect(r2).toMatchObject({ effective_role: 'AN', expert_instruction: 'label r2' });
    expect(r2.reviewer_instructions).toBeUndefined();
    const both = (await call('GET', `/api/projects/${p1.id}/`, { token: manager.token }));
    expect(both.status).toBe(404); // a Manager outside the workspace sees nothing
    const owner = (await call('GET', `/api/projects/${p1.id}/`, { token: OWNER_TOKEN })).body;
    expect(owner).toMatchObject({ expert_instruction: 'label r1', reviewer_instructions: 'review r1' });
    expect((await call('GET', `/api/projects/${p1.id}/roles`, { token: OWNER_TOKEN })).body.map((r: { user: number }) => r.user)).toEqual([an.userId]);
    // Removing the role makes them an annotator there again.
    expect((await call('DELETE', `/api/projects/roles/${role.body.id}/`, { token: OWNER_TOKEN })).status).toBe(204);
    expect((await call('GET', `/api/projects/${p1.id}/`, { token: an.token })).body.effective_role).toBe('AN');
  });

  it('never makes a Manager, Administrator or Owner less than they are (409), and takes only AN or RE (400)', async () => {
    const p = await project('never-less', null);
    for (const target of [manager.userId, (await addMember(db, 1, 'AD')).userId, 1]) {
      expect((await call('POST', '/api/projects/roles/', { token: OWNER_TOKEN, body: { project: p.id, user: target, role: 'AN' } })).status).toBe(409);
    }
    const an = await addMember(db, 1, 'AN');
    for (const role of ['MA', 'AD', 'OW', 'DI', 'XX']) {
      expect((await call('POST', '/api/projects/roles/', { token: OWNER_TOKEN, body: { project: p.id, user: an.userId, role } })).status).toBe(400);
    }
  });
});

describe('project members', () => {
  it('lists direct and implicit members with implicit_member and project_role, and will not remove an implicit one (409)', async () => {
    const ws = await workspace('Members');
    const p = await project('m1', ws.id);
    const [viaWs, direct] = [await addMember(db, 1, 'AN'), await addMember(db, 1, 'RE')];
    await call('POST', `/api/workspaces/${ws.id}/memberships/`, { token: OWNER_TOKEN, body: { user: viaWs.userId } });
    expect((await call('POST', `/api/projects/${p.id}/members/`, { token: OWNER_TOKEN, body: { user: direct.userId } })).status).toBe(201);
    await call('POST', '/api/projects/roles/', { token: OWNER_TOKEN, body: { project: p.id, user: direct.userId, role: 'AN' } });
    const page = (await call('GET', `/api/projects/${p.id}/members/paginated/`, { token: OWNER_TOKEN })).body;
    const byId = Object.fromEntries(page.results.map((m: { id: number }) => [m.id, m]));
    expect(byId[viaWs.userId]).toMatchObject({ implicit_member: true, project_role: null });
    expect(byId[direct.userId]).toMatchObject({ implicit_member: false, project_role: 'AN', effective_role: 'AN' });
    expect(byId[1]).toMatchObject({ implicit_member: true }); // the Owner
    for (const m of page.results) expect(lseErrors('PaginatedProjectMember', m)).toEqual([]);
    const explicitOnly = (await call('GET', `/api/projects/${p.id}/members/paginated/?implicit=false`, { token: OWNER_TOKEN })).body.results.map((m: { id: number }) => m.id);
    expect(explicitOnly).toEqual([direct.userId]);
    const removeImplicit = await call('DELETE', `/api/projects/${p.id}/members/?user=${viaWs.userId}`, { token: OWNER_TOKEN });
    expect(removeImplicit.status).toBe(409);
    expect(removeImplicit.body.detail).toMatch(/workspace/);
    expect((await call('DELETE', `/api/projects/${p.id}/members/?user=1`, { token: OWNER_TOKEN })).status).toBe(409);
    const csv = await call('GET', `/api/projects/${p.id}/members/export/?implicit=false`, { token: OWNER_TOKEN });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = (csv.body as string).trim().split('\r\n');
    expect(rows[0]).toBe('id,email,username,first_name,last_name,organization_role,project_role,effective_role,implicit_member');
    expect(rows.slice(1).map((r) => Number(r.split(',')[0]))).toEqual([direct.userId]);
    expect(rows[1]).toContain(',RE,AN,AN,false');
    await call('PATCH', `/api/users/${direct.userId}/`, { token: OWNER_TOKEN, body: { first_name: '=HYPERLINK("x")', last_name: 'a,b' } });
    const risky = ((await call('GET', `/api/projects/${p.id}/members/export/?implicit=false`, { token: OWNER_TOKEN })).body as string).split('\r\n')[1]!;
    expect(risky).toContain(`"'=HYPERLINK(""x"")","a,b"`);
    expect((await call('DELETE', `/api/projects/${p.id}/members/?user=${direct.userId}`, { token: OWNER_TOKEN })).status).toBe(204);
    expect(await sees(direct.token, p.id)).toBe(false);
  });
});

describe('access-check API', () => {
  it('names the grant or the refusal, checks up to 100 at once, and is for admins or oneself', async () => {
    const ws = await workspace('Checks');
    const p = await project('chk', ws.id);
    const an = await addMember(db, 1, 'AN');
    const check = (body: unknown, token = OWNER_TOKEN) => call('POST', '/api/access/check', { token, body });
    expect((await check({ user_id: an.userId, action: 'project.read', project_id: p.id })).body).toEqual({ allowed: false, effective_role: null, reason: 'not_project_member' });
    await call('POST', `/api/workspaces/${ws.id}/memberships/`, { token: OWNER_TOKEN, body: { user: an.userId } });
    expect((await check({ user_id: an.userId, action: 'project.label', project_id: p.id })).body).toEqual({ allowed: true, effective_role: 'AN', reason: 'workspace_membership' });
    expect((await check({ user_id: an.userId, action: 'project.review', project_id: p.id })).body).toEqual({ allowed: false, effective_role: 'AN', reason: 'role_not_permitted' });
    expect((await check({ user_id: an.userId, action: 'workspace.read', workspace_id: ws.id })).body).toMatchObject({ allowed: true });
    expect((await check({ user_id: an.userId, action: 'project.read', project_id: p.id }, an.token)).status).toBe(200);
    expect((await check({ user_id: 1, action: 'project.read', project_id: p.id }, an.token)).status).toBe(403);
    const batch = await check({ checks: Array.from({ length: 100 }, (_, i) => ({ user_id: an.userId, action: 'project.read', project_id: i % 2 ? p.id : 999999 })) });
    expect(batch.body.results).toHaveLength(100);
    expect(batch.body.results[0]).toEqual({ allowed: false, effective_role: null, reason: 'no_such_project' });
    expect(batch.body.results[1]).toMatchObject({ allowed: true });
    for (const bad of [{ checks: [] }, { checks: Array(101).fill({ user_id: 1, action: 'project.read', project_id: 1 }) }, { user_id: 1, action: 'nope', project_id: 1 }, { user_id: 1, action: 'project.read' }, { user_id: 1, action: 'project.read', project_id: 1, workspace_id: 1 }]) {
      expect((await check(bad)).status).toBe(400);
    }
  });

  it('never answers about another organization', async () => {
    const other = await otherOrg(db);
    const p = await project('mine', null);
    const r = await call('POST', '/api/access/check', { token: other.owner.token, body: { user_id: other.owner.userId, action: 'project.read', project_id: p.id } });
    expect(r.body).toEqual({ allowed: false, effective_role: null, reason: 'no_such_project' });
    expect((await call('GET', `/api/projects/${p.id}/`, { token: other.owner.token })).status).toBe(404);
    expect((await call('GET', `/api/users/1/accessible-projects`, { token: other.owner.token })).status).toBe(404);
  });
});
