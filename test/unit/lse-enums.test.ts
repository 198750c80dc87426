/**
 * Every enum-typed value Roster answers with is one LSE's OpenAPI allows, so a client generated
 * from LSE's definition parses Roster's answers. (Needs LSE's reference; skipped without it.)
 */
import { describe, expect, it } from 'vitest';
import { LEGACY_ROLE_SOURCES, PROJECT_ROLES, ROLES, ROLE_SOURCES, lseRoleSource } from '../../lib/core/roles.js';
import { lseAvailable, lseEnum } from '../support/lse-schema.js';

describe("Roster's enums against LSE's", () => {
  it.skipIf(!lseAvailable)("role sources are exactly LSE's RoleSourceEnum", () => {
    expect([...ROLE_SOURCES].sort()).toEqual([...lseEnum('RoleSourceEnum')].sort());
  });

  it.skipIf(!lseAvailable)("organization roles are in LSE's OrganizationRoleEnum and AssignableOrganizationRoleEnum; project roles in the assignable ones", () => {
    for (const name of ['OrganizationRoleEnum', 'AssignableOrganizationRoleEnum', 'OrganizationPermissionRoleEnum']) {
      expect(ROLES.filter((r) => !lseEnum(name).includes(r)), name).toEqual([]);
    }
    expect(PROJECT_ROLES.filter((r) => !lseEnum('AssignableOrganizationRoleEnum').includes(r))).toEqual([]);
  });

  it.skipIf(!lseAvailable)("Roster's one user type, standard, is in LSE's user type enums", () => {
    expect(lseEnum('AssignableUserTypeEnum')).toContain('standard');
    expect(lseEnum('StandardUserTypeEnum')).toContain('standard');
  });
});

describe('role sources Roster stored before it used LSE\'s values', () => {
  it('are answered as an LSE value (invite and system as manual); LSE values pass unchanged; anything else is null', () => {
    expect(Object.keys(LEGACY_ROLE_SOURCES).sort()).toEqual(['invite', 'system']);
    expect(lseRoleSource('invite')).toBe('manual');
    expect(lseRoleSource('system')).toBe('manual');
    for (const s of ROLE_SOURCES) expect(lseRoleSource(s)).toBe(s);
    expect(lseRoleSource('access_review')).toBeNull();
    expect(lseRoleSource(undefined)).toBeNull();
    expect(lseRoleSource(null)).toBeNull();
  });
});
