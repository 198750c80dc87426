import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createProject } from '../../lib/access/projects.js';
import { createWorkspace } from '../../lib/access/workspaces.js';
import { type Db, getItem } from '../../lib/core/db.js';
import type { Principal } from '../../lib/core/model.js';
import { keys } from '../../lib/core/table.js';
import { assignmentsOf } from '../../lib/federation/engine.js';
import { addMembers, createGroup, deleteGroup, groupNamesOf, pageMembers, removeMembers, replaceMembers, updateGroup } from '../../lib/federation/groups.js';
import { provisionMember } from '../../lib/federation/provision.js';
import { getFederationJob, runFederationSlice } from '../../lib/federation/reevaluate.js';
import { getScimSettings, saveScimSettings } from '../../lib/federation/settings.js';
import { bootstrapOrg, freshTable, otherOrg } from '../support/db.js';

let db: Db;
const owner: Principal = { userId: 1, orgId: 1, role: 'OW', via: 'token', overrides: {} };
let medical: number;
let legal: number;
let project: number;
let admins: string;
let reviewers: string;

/** What the SCIM protocol writes for a user it provisions (settings re-evaluate those members). */
async function scimUser(email: string) {
  const r = await provisionMember(db, 1, { email }, 'scim');
  await db.doc.send(new PutCommand({ TableName: db.table, Item: { ...keys.scimUser(1, r.user.id), type: 'scim_user', userName: email } }));
  return r;
}

const membership = async (userId: number) => (await getItem(db, keys.membership(1, userId)))!;
const inWorkspace = async (ws: number, userId: number) => !!(await getItem(db, keys.workspaceMember(1, ws, userId)));
const inProject = async (p: number, userId: number) => !!(await getItem(db, keys.projectMember(1, p, userId)));

beforeAll(async () => {
  db = await freshTable('engine');
  await bootstrapOrg(db);
  medical = (await createWorkspace(db, owner, { title: 'Medical' })).id;
  legal = (await createWorkspace(db, owner, { title: 'Legal' })).id;
  project = (await createProject(db, owner, { title: 'Contracts', workspace: legal } as never)).id;
  admins = (await createGroup(db, 1, { displayName: 'Admins' })).id;
  reviewers = (await createGroup(db, 1, { displayName: 'Reviewers' })).id;
  await saveScimSettings(db, owner, {
    roles_groups: [['Reviewer', 'Reviewers'], ['Administrator', 'Admins']],
    workspaces_groups: [['Medical', 'Reviewers']],
    projects_groups: [{ project_id: project, group: 'Reviewers', role: 'Reviewer' }],
  });
});

describe('SCIM settings', () => {
  it('answers what was saved in LSE names, with the manual switches', async () => {
    expect(await getScimSettings(db, owner)).toEqual({
      roles_groups: [['Reviewer', 'Reviewers'], ['Administrator', 'Admins']],
      workspaces_groups: [['Medical', 'Reviewers']],
      projects_groups: [{ project_id: project, group: 'Reviewers', role: 'Reviewer' }],
      manual_role_management: false,
      manual_workspace_management: false,
      manual_project_management: false,
    });
  });

  it('refuses unknown roles, workspaces and projects, naming each', async () => {
    const err = await saveScimSettings(db, owner, { roles_groups: [['Owner', 'X']], workspaces_groups: [['Nope', 'X']], projects_groups: [{ project_id: 999999, group: 'X', role: 'Inherit' }] }).catch((e) => e);
    expect(err.status).toBe(400);
    expect(err.extra.validation_errors.roles_groups[0]).toMatch(/unknown role "Owner"; allowed: Administrator, Manager, Reviewer, Annotator/);
    expect(err.extra.validation_errors.workspaces_groups[0]).toMatch(/Unknown workspaces: "Nope"/);
    expect(err.extra.validation_errors.projects_groups[0]).toMatch(/Unknown projects: 999999/);
    expect((await getScimSettings(db, owner)).roles_groups).toHaveLength(2);
  });

  it('is for Owners and Administrators only', async () => {
    await expect(getScimSettings(db, { ...owner, userId: 99, role: 'MA' })).rejects.toMatchObject({ status: 403 });
  });
});

describe('the mapping engine, driven by SCIM groups', () => {
  it('makes a member of Reviewers and Admins AD; out of Admins RE; out of both DI; back in restored', async () => {
    const { user } = await provisionMember(db, 1, { email: 'Pat@Example.com', first_name: 'Pat' }, 'scim');
    expect(user.email).toBe('pat@example.com');
    expect(await membership(user.id)).toMatchObject({ role: 'AN', role_source: 'scim' });

    await addMembers(db, 1, reviewers, [user.id]);
    await addMembers(db, 1, admins, [user.id]);
    expect(await membership(user.id)).toMatchObject({ role: 'AD', role_source: 'scim' });
    expect(await inWorkspace(medical, user.id)).toBe(true);
    expect(await inProject(project, user.id)).toBe(true);

    await removeMembers(db, 1, admins, [user.id]);
    expect((await membership(user.id)).role).toBe('RE');
    // As a Reviewer the project mapping's role applies.
    expect(await getItem(db, keys.projectRole(1, project, user.id))).toMatchObject({ role: 'RE', role_source: 'scim' });

    await removeMembers(db, 1, reviewers, [user.id]);
    expect((await membership(user.id)).role).toBe('DI');
    expect(await inWorkspace(medical, user.id)).toBe(false);
    expect(await inProject(project, user.id)).toBe(false);
    expect(await getItem(db, keys.projectRole(1, project, user.id))).toBeUndefined();
    expect(await assignmentsOf(db, 1, user.id)).toEqual([]);

    await addMembers(db, 1, reviewers, [user.id]);
    await addMembers(db, 1, admins, [user.id]);
    expect((await membership(user.id)).role).toBe('AD');
    expect(await inWorkspace(medical, user.id)).toBe(true);
  });

  it('records each IdP-driven assignment with the group behind it', async () => {
    const { user } = await provisionMember(db, 1, { email: 'rec@example.com' }, 'scim');
    await addMembers(db, 1, reviewers, [user.id]);
    const records = await assignmentsOf(db, 1, user.id);
    expect(records.map((r) => [r.kind, r.workspace_id ?? r.project_id ?? null, r.group, r.assigned_role, r.source]).sort()).toEqual(
      [
        ['organization_role', null, 'Reviewers', 'RE', 'scim'],
        ['project', project, 'Reviewers', 'RE', 'scim'],
        ['workspace', medical, 'Reviewers', null, 'scim'],
      ].sort(),
    );
    expect(new Set(records.map((r) => r.assignment_id)).size).toBe(3);
  });

  it('never demotes or deactivates the Owner', async () => {
    await addMembers(db, 1, reviewers, [1]);
    await removeMembers(db, 1, reviewers, [1]);
    expect(await membership(1)).toMatchObject({ role: 'OW' });
  });

  it('takes away only access the IdP granted', async () => {
    const { user } = await provisionMember(db, 1, { email: 'manual@example.com' }, 'scim');
    // Added to Legal by hand, then in and out of the mapped groups.
    await createWorkspaceMember(legal, user.id);
    await addMembers(db, 1, reviewers, [user.id]);
    await removeMembers(db, 1, reviewers, [user.id]);
    expect(await inWorkspace(legal, user.id)).toBe(true);
    expect(await inWorkspace(medical, user.id)).toBe(false);
  });

  it('leaves roles alone under manual role management', async () => {
    const { user } = await scimUser('manualrole@example.com');
    await saveScimSettings(db, owner, { manual_role_management: true });
    try {
      await addMembers(db, 1, admins, [user.id]);
      expect((await membership(user.id)).role).toBe('AN');
      // Workspaces still follow the groups.
      await addMembers(db, 1, reviewers, [user.id]);
      expect(await inWorkspace(medical, user.id)).toBe(true);
    } finally {
      await saveScimSettings(db, owner, { manual_role_management: false });
    }
    // Saving the settings re-evaluated the member: the mapped role applies now.
    expect((await membership(user.id)).role).toBe('AD');
  });

  it('re-evaluates the members when a group is renamed (mappings match names)', async () => {
    const g = await createGroup(db, 1, { displayName: 'Temp admins' });
    const { user } = await scimUser('rename@example.com');
    await addMembers(db, 1, g.id, [user.id]);
    expect((await membership(user.id)).role).toBe('DI');
    await updateGroup(db, 1, g.id, { displayName: 'Admins2' });
    await saveScimSettings(db, owner, { roles_groups: [['Reviewer', 'Reviewers'], ['Administrator', 'Admins'], ['Manager', 'Admins2']] });
    expect((await membership(user.id)).role).toBe('MA');
    expect(await groupNamesOf(db, 1, user.id)).toEqual(['Admins2']);
    await deleteGroup(db, 1, g.id);
    expect((await membership(user.id)).role).toBe('DI');
    expect(await groupNamesOf(db, 1, user.id)).toEqual([]);
  });

  it('refuses a second group with the same displayName (409)', async () => {
    await expect(createGroup(db, 1, { displayName: 'Admins' })).rejects.toMatchObject({ status: 409 });
  });

  it('keeps every member of 20 concurrent adds to one group', async () => {
    const g = await createGroup(db, 1, { displayName: 'Crowd' });
    const people = await Promise.all(Array.from({ length: 20 }, (_, i) => provisionMember(db, 1, { email: `crowd${i}@example.com` }, 'scim')));
    await Promise.all(people.map((p) => addMembers(db, 1, g.id, [p.user.id])));
    const page = await pageMembers(db, 1, g.id, { limit: 100 });
    expect(page.userIds.sort((a, b) => a - b)).toEqual(people.map((p) => p.user.id).sort((a, b) => a - b));
  });

  it('replaces members by delta, and ignores ids that are no members of the organization', async () => {
    const g = await createGroup(db, 1, { displayName: 'Swap' });
    const [a, b, c] = await Promise.all(['swap-a', 'swap-b', 'swap-c'].map((n) => provisionMember(db, 1, { email: `${n}@example.com` }, 'scim')));
    await addMembers(db, 1, g.id, [a!.user.id, b!.user.id]);
    const { unknown } = await replaceMembers(db, 1, g.id, [b!.user.id, c!.user.id, 424242]);
    expect(unknown).toEqual([424242]);
    expect((await pageMembers(db, 1, g.id, { limit: 10 })).userIds).toEqual([b!.user.id, c!.user.id].sort((x, y) => x - y));
  });

  it('re-evaluates a large group as a job in slices', async () => {
    const g = await createGroup(db, 1, { displayName: 'Big' });
    const people = await Promise.all(Array.from({ length: 60 }, (_, i) => provisionMember(db, 1, { email: `big${i}@example.com` }, 'scim')));
    await addMembers(db, 1, g.id, people.map((p) => p.user.id));
    await saveScimSettings(db, owner, { roles_groups: [['Reviewer', 'Reviewers'], ['Administrator', 'Admins'], ['Annotator', 'Big']] });
    // No SCIM User items here (the protocol writes those): re-evaluate the group itself.
    const { reevaluate } = await import('../../lib/federation/reevaluate.js');
    const { job } = await reevaluate(db, 1, { group: g.id });
    expect(job).toBeDefined();
    let state = await getFederationJob(db, 1, job!);
    while (state.status !== 'done') {
      await runFederationSlice(db, state);
      state = await getFederationJob(db, 1, job!);
    }
    expect(state.processed).toBe(60);
    for (const p of people) expect((await membership(p.user.id)).role).toBe('AN');
  });

  it('provisions an existing account into another organization with only a membership', async () => {
    const { orgId } = await otherOrg(db);
    const first = await provisionMember(db, 1, { email: 'both@example.com' }, 'scim');
    const second = await provisionMember(db, orgId, { email: 'BOTH@example.com' }, 'saml');
    expect(second.created).toBe('membership');
    expect(second.user.id).toBe(first.user.id);
    expect(second.membership).toMatchObject({ organization: orgId, role_source: 'saml', deleted_at: null });
  });
});

async function createWorkspaceMember(ws: number, userId: number) {
  const { addWorkspaceMember } = await import('../../lib/access/workspaces.js');
  await addWorkspaceMember(db, owner, ws, userId);
}
