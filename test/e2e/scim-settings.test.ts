import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../lib/core/db.js';
import { addMember } from '../support/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;
let workspace: number;
let project: number;

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  workspace = (await call('POST', '/api/workspaces/', { token: OWNER_TOKEN, body: { title: 'Default workspace' } })).body.id;
  project = (await call('POST', '/api/projects/', { token: OWNER_TOKEN, body: { title: 'P', workspace } })).body.id;
});
afterAll(() => roster?.stop());

describe('GET/POST /api/scim/settings', () => {
  it('starts empty and keeps what LSE clients save, answering 201 with the saved mappings', async () => {
    expect((await call('GET', '/api/scim/settings', { token: OWNER_TOKEN })).body).toEqual({
      roles_groups: [],
      workspaces_groups: [],
      projects_groups: [],
      manual_role_management: false,
      manual_workspace_management: false,
      manual_project_management: false,
    });
    const lse = { projects_groups: [{ group: 'groups_test', project_id: project, role: 'Inherit' }], roles_groups: [['Administrator', 'groups_test']], workspaces_groups: [['Default workspace', 'groups_test']] };
    const saved = await call('POST', '/api/scim/settings', { token: OWNER_TOKEN, body: lse });
    expect(saved.status).toBe(201);
    expect(saved.body).toMatchObject(lse);
    expect((await call('GET', '/api/scim/settings', { token: OWNER_TOKEN })).body).toMatchObject(lse);
  });

  it('accepts role codes and answers LSE role names', async () => {
    const r = await call('POST', '/api/scim/settings', { token: OWNER_TOKEN, body: { roles_groups: [['RE', 'Reviewers']], projects_groups: [{ group: 'g', project_id: project, role: 'AN' }] } });
    expect(r.body.roles_groups).toEqual([['Reviewer', 'Reviewers']]);
    expect(r.body.projects_groups).toEqual([{ group: 'g', project_id: project, role: 'Annotator' }]);
  });

  it.each([
    [{ roles_groups: [['Owner', 'x']] }, 'roles_groups'],
    [{ roles_groups: [['DI', 'x']] }, 'roles_groups'],
    [{ roles_groups: [['Administrator', '']] }, 'roles_groups'],
    [{ workspaces_groups: [['No such workspace', 'x']] }, 'workspaces_groups'],
    [{ projects_groups: [{ project_id: 987654, group: 'x', role: 'Inherit' }] }, 'projects_groups'],
    [{ projects_groups: [{ project_id: 1, group: 'x', role: 'MA' }] }, 'projects_groups'],
    [{ manual_role_management: 'yes' }, 'manual_role_management'],
    [{ unknown_field: 1 }, 'unknown_field'],
  ])('refuses %j with a 400 naming %s', async (body, field) => {
    const before = (await call('GET', '/api/scim/settings', { token: OWNER_TOKEN })).body;
    const r = await call('POST', '/api/scim/settings', { token: OWNER_TOKEN, body });
    expect(r.status).toBe(400);
    // A field's path (`roles_groups.0.0`) or, for an unknown field, the message naming it.
    expect(JSON.stringify(r.body.validation_errors)).toContain(field);
    expect((await call('GET', '/api/scim/settings', { token: OWNER_TOKEN })).body).toEqual(before);
  });

  it('names the unknown workspace titles and project ids', async () => {
    const r = await call('POST', '/api/scim/settings', { token: OWNER_TOKEN, body: { workspaces_groups: [['Nope', 'a'], ['Default workspace', 'b'], ['Also nope', 'c']] } });
    expect(r.body.validation_errors.workspaces_groups[0]).toBe('Unknown workspaces: "Nope", "Also nope".');
  });

  it.each(['MA', 'RE', 'AN'] as const)('is refused to a %s (403)', async (role) => {
    const m = await addMember(db, 1, role);
    expect((await call('GET', '/api/scim/settings', { token: m.token })).status).toBe(403);
    expect((await call('POST', '/api/scim/settings', { token: m.token, body: { roles_groups: [] } })).status).toBe(403);
  });
});
