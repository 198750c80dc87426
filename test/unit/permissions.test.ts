import { describe, expect, it } from 'vitest';
import {
  ACTIONS,
  type Access,
  MATRIX,
  type ProjectAccessInput,
  allows,
  canInOrganization,
  grantOf,
  permissionsOf,
  projectAccess,
  workspaceAccess,
} from '../../lib/core/permissions.js';
import { ROLES, type Role, isActive, mostElevated, rank } from '../../lib/core/roles.js';

/**
 * SPEC §1 transcribed cell by cell (columns AN RE MA AD OW): '-' never, 'm' on member/own
 * resources, 'o' organization-wide. NO and DI are asserted separately: nothing, ever.
 */
const SPEC_GRID: Record<string, string> = {
  'organization.read': 'o o o o o',
  'organization.update': '- - - o o',
  'organization.roles.assign': '- - - o o',
  'organization.invite': '- - - o o',
  'organization.members.list': '- - o o o',
  'organization.activity_log.view': '- - - o o',
  'organization.sso.configure': '- - - o o',
  'organization.access_review.run': '- - - o o',
  'organization.transfer_ownership': '- - - - o',
  // SPEC §1 prose: the Owner restricts configurable permissions; the Owner's own rights never change.
  'organization.permissions.configure': '- - - - o',
  'workspace.create': '- - o o o',
  'workspace.read': 'm m m o o',
  'workspace.update': '- - m o o',
  'workspace.delete': '- - m o o',
  'workspace.members.manage': '- - m o o',
  'project.create': '- - m o o',
  'project.read': 'm m m o o',
  'project.update': '- - m o o',
  'project.delete': '- - m o o',
  'project.members.manage': '- - m o o',
  'project.tasks.assign_annotators': '- m m o o',
  'project.tasks.assign_reviewers': '- - m o o',
  'project.review': '- m m o o',
  'project.label': 'm m m o o',
  'project.data.import_export': '- - m o o',
  'tokens.own': 'o o o o o',
};
const COLUMNS = ['AN', 'RE', 'MA', 'AD', 'OW'] as const;
const CELL = { '-': undefined, m: 'member', o: 'org' } as const;

describe('permission matrix (SPEC §1)', () => {
  it('covers exactly the actions of the spec grid', () => {
    expect([...ACTIONS].sort()).toEqual(Object.keys(SPEC_GRID).sort());
  });

  const cases = Object.entries(SPEC_GRID).flatMap(([action, row]) =>
    row.split(' ').map((cell, i) => ({ action, role: COLUMNS[i]!, expected: CELL[cell as keyof typeof CELL] })),
  );
  it.each(cases)('$role on $action → $expected', ({ action, role, expected }) => {
    expect(grantOf(role, action as keyof typeof MATRIX)).toBe(expected);
    expect(canInOrganization(role, action as keyof typeof MATRIX)).toBe(expected === 'org');
  });

  it.each(['NO', 'DI'] as const)('%s has no permission at all', (role) => {
    for (const action of ACTIONS) expect(grantOf(role, action)).toBeUndefined();
    expect(permissionsOf(role)).toEqual([]);
  });

  it('whoami permissions list every action the role may take somewhere', () => {
    expect(permissionsOf('OW')).toEqual(ACTIONS);
    expect(permissionsOf('AN')).toEqual(['organization.read', 'workspace.read', 'project.read', 'project.label', 'tokens.own']);
    expect(permissionsOf('AD')).not.toContain('organization.transfer_ownership');
    expect(permissionsOf('AD')).not.toContain('organization.permissions.configure');
  });
});

describe('role order', () => {
  it('ranks OW > AD > MA > RE > AN > NO = DI', () => {
    const ranks = ROLES.map(rank);
    expect(ranks).toEqual([5, 4, 3, 2, 1, 0, 0]);
  });
  it.each([
    [['AN', 'MA', 'RE'], 'MA'],
    [['RE', 'AN'], 'RE'],
    [['AD', 'OW'], 'OW'],
    [['DI', 'AN'], 'AN'],
    [[], undefined],
  ] as [Role[], Role | undefined][])('most elevated of %j is %s', (roles, expected) => {
    expect(mostElevated(roles)).toBe(expected);
  });
  it('only OW AD MA RE AN are active', () => {
    expect(ROLES.filter(isActive)).toEqual(['OW', 'AD', 'MA', 'RE', 'AN']);
  });
});

describe('effective project access (SPEC §2)', () => {
  type Case = { name: string; input: ProjectAccessInput; expected: Partial<Access> };
  const cases: Case[] = [
    { name: 'not a member of the organization', input: {}, expected: { allowed: false, reason: 'not_member' } },
    { name: 'NO has nothing even as project member', input: { orgRole: 'NO', projectMember: true }, expected: { allowed: false, reason: 'not_activated' } },
    { name: 'DI has nothing even with workspace membership', input: { orgRole: 'DI', workspaceMember: true }, expected: { allowed: false, reason: 'deactivated' } },
    { name: 'soft-deleted AD has nothing', input: { orgRole: 'AD', deleted: true }, expected: { allowed: false, reason: 'deleted' } },
    { name: 'soft-deleted AN with project role has nothing', input: { orgRole: 'AN', deleted: true, projectMember: true, projectRole: 'RE' }, expected: { allowed: false, reason: 'deleted' } },
    { name: 'OW is an implicit member everywhere', input: { orgRole: 'OW' }, expected: { allowed: true, role: 'OW', implicit: true, reason: 'organization_role' } },
    { name: 'AD is an implicit member everywhere', input: { orgRole: 'AD' }, expected: { allowed: true, role: 'AD', implicit: true, reason: 'organization_role' } },
    { name: 'AD is never downgraded by a project role', input: { orgRole: 'AD', projectRole: 'AN', projectMember: true }, expected: { allowed: true, role: 'AD' } },
    { name: 'MA without membership sees nothing', input: { orgRole: 'MA' }, expected: { allowed: false, reason: 'not_project_member' } },
    { name: 'MA keeps rights over what they created', input: { orgRole: 'MA', creator: true }, expected: { allowed: true, role: 'MA', reason: 'creator' } },
    { name: 'AN creator flag grants nothing', input: { orgRole: 'AN', creator: true }, expected: { allowed: false, reason: 'not_project_member' } },
    { name: 'MA through workspace is implicit', input: { orgRole: 'MA', workspaceMember: true }, expected: { allowed: true, role: 'MA', implicit: true, reason: 'workspace_membership' } },
    { name: 'MA is never downgraded by a project role', input: { orgRole: 'MA', projectMember: true, projectRole: 'AN' }, expected: { allowed: true, role: 'MA', reason: 'project_membership' } },
    { name: 'AN direct project member is explicit', input: { orgRole: 'AN', projectMember: true }, expected: { allowed: true, role: 'AN', implicit: false, reason: 'project_membership' } },
    { name: 'AN through workspace is implicit', input: { orgRole: 'AN', workspaceMember: true }, expected: { allowed: true, role: 'AN', implicit: true, reason: 'workspace_membership' } },
    { name: 'direct membership wins over workspace membership for the listing', input: { orgRole: 'RE', workspaceMember: true, projectMember: true }, expected: { allowed: true, implicit: false } },
    { name: 'project role RE makes an AN a reviewer there', input: { orgRole: 'AN', projectMember: true, projectRole: 'RE' }, expected: { allowed: true, role: 'RE', reason: 'project_role' } },
    { name: 'project role AN makes an RE an annotator there', input: { orgRole: 'RE', workspaceMember: true, projectRole: 'AN' }, expected: { allowed: true, role: 'AN', implicit: true, reason: 'project_role' } },
    { name: 'project role equal to the org role is just membership', input: { orgRole: 'RE', projectMember: true, projectRole: 'RE' }, expected: { allowed: true, role: 'RE', reason: 'project_membership' } },
    { name: 'project role alone grants no access', input: { orgRole: 'AN', projectRole: 'RE' }, expected: { allowed: false, reason: 'not_project_member' } },
  ];
  it.each(cases)('$name', ({ input, expected }) => {
    expect(projectAccess(input)).toMatchObject(expected);
  });

  it('workspace access ignores project-level grants', () => {
    expect(workspaceAccess({ orgRole: 'AN', workspaceMember: true })).toMatchObject({ allowed: true, role: 'AN' });
    expect(workspaceAccess({ orgRole: 'RE' })).toMatchObject({ allowed: false });
    expect(workspaceAccess({ orgRole: 'MA', creator: true })).toMatchObject({ allowed: true, role: 'MA' });
  });

  it('allows() applies the matrix to the effective role', () => {
    const reviewerThere = projectAccess({ orgRole: 'AN', projectMember: true, projectRole: 'RE' });
    expect(allows(reviewerThere, 'project.review')).toBe(true);
    expect(allows(reviewerThere, 'project.tasks.assign_reviewers')).toBe(false);
    const annotator = projectAccess({ orgRole: 'AN', projectMember: true });
    expect(allows(annotator, 'project.review')).toBe(false);
    expect(allows(annotator, 'project.label')).toBe(true);
    expect(allows(projectAccess({ orgRole: 'DI', projectMember: true }), 'project.label')).toBe(false);
    expect(allows(projectAccess({ orgRole: 'MA', projectMember: true }), 'project.data.import_export')).toBe(true);
  });
});
