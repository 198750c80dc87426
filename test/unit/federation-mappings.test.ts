import { describe, expect, it } from 'vitest';
import { EMPTY_MAPPINGS, type StoredMappings, desired, stillMapped } from '../../lib/federation/mappings.js';

const m = (over: Partial<StoredMappings>): StoredMappings => ({ ...EMPTY_MAPPINGS, ...over });

describe('what IdP groups give', () => {
  const mappings = m({
    roles_groups: [['Reviewer', 'Reviewers'], ['Administrator', 'Admins'], ['Annotator', 'Labelers']],
    workspaces_groups: [['Medical', 'Reviewers'], ['Legal', 'Legal team']],
    workspace_ids: { Medical: 7, Legal: 8 },
    projects_groups: [
      { project_id: 3, group: 'Labelers', role: 'Annotator' },
      { project_id: 3, group: 'Reviewers', role: 'Reviewer' },
      { project_id: 4, group: 'Legal team', role: 'Inherit' },
    ],
  });

  it('gives the most elevated mapped role, naming the group behind it', () => {
    expect(desired(mappings, ['Reviewers', 'Admins']).role).toEqual({ role: 'AD', group: 'Admins' });
    expect(desired(mappings, ['Reviewers']).role).toEqual({ role: 'RE', group: 'Reviewers' });
    expect(desired(mappings, ['Labelers', 'Reviewers']).role).toEqual({ role: 'RE', group: 'Reviewers' });
  });

  it('deactivates a member in no role group', () => {
    expect(desired(mappings, ['Legal team']).role).toEqual({ role: 'DI' });
    expect(desired(mappings, []).role).toEqual({ role: 'DI' });
  });

  it('matches group names case-sensitively', () => {
    expect(desired(mappings, ['admins', 'REVIEWERS']).role).toEqual({ role: 'DI' });
    expect(desired(mappings, ['reviewers']).workspaces).toEqual(new Map());
  });

  it('leaves the role alone under manual role management, or when no role is mapped', () => {
    expect(desired({ ...mappings, manual_role_management: true }, ['Admins']).role).toBeUndefined();
    expect(desired(m({ workspaces_groups: [['Medical', 'X']], workspace_ids: { Medical: 7 } }), []).role).toBeUndefined();
  });

  it('maps workspaces and projects, taking the more elevated project role when two groups name one project', () => {
    const d = desired(mappings, ['Labelers', 'Reviewers', 'Legal team']);
    expect(d.workspaces).toEqual(new Map([[7, 'Reviewers'], [8, 'Legal team']]));
    expect(d.projects).toEqual(new Map([[3, { group: 'Reviewers', role: 'RE' }], [4, { group: 'Legal team' }]]));
    expect(desired(mappings, ['Labelers']).projects).toEqual(new Map([[3, { group: 'Labelers', role: 'AN' }]]));
  });

  it('leaves memberships alone under manual workspace or project management', () => {
    const d = desired({ ...mappings, manual_workspace_management: true, manual_project_management: true }, ['Reviewers']);
    expect(d.workspaces).toBeUndefined();
    expect(d.projects).toBeUndefined();
  });

  it('says whether an assignment record is still configured', () => {
    expect(stillMapped(mappings, { kind: 'organization_role', group: 'Admins', assigned_role: 'AD' })).toBe(true);
    expect(stillMapped(mappings, { kind: 'organization_role', group: 'Admins', assigned_role: 'RE' })).toBe(false);
    expect(stillMapped(mappings, { kind: 'workspace', group: 'Reviewers', workspace_id: 7 })).toBe(true);
    expect(stillMapped(mappings, { kind: 'workspace', group: 'Reviewers', workspace_id: 8 })).toBe(false);
    expect(stillMapped(mappings, { kind: 'project', group: 'Legal team', project_id: 4, assigned_role: null })).toBe(true);
    expect(stillMapped(mappings, { kind: 'project', group: 'Labelers', project_id: 3, assigned_role: 'RE' })).toBe(false);
  });
});
