/** Organization role codes as in LSE, most elevated first. */
export const ROLES = ['OW', 'AD', 'MA', 'RE', 'AN', 'NO', 'DI'] as const;
export type Role = (typeof ROLES)[number];

/** Roles that grant any access at all. */
export const ACTIVE_ROLES = ['OW', 'AD', 'MA', 'RE', 'AN'] as const;
export type ActiveRole = (typeof ACTIVE_ROLES)[number];

/** Roles a project-level override may set, and the organization roles it may apply to. */
export const PROJECT_ROLES = ['RE', 'AN'] as const;
export type ProjectRole = (typeof PROJECT_ROLES)[number];

export const ROLE_NAMES: Record<Role, string> = {
  OW: 'Owner',
  AD: 'Administrator',
  MA: 'Manager',
  RE: 'Reviewer',
  AN: 'Annotator',
  NO: 'Not Activated',
  DI: 'Deactivated',
};

/** Rank for "the most elevated wins": OW > AD > MA > RE > AN > NO/DI. */
const RANK: Record<Role, number> = { OW: 5, AD: 4, MA: 3, RE: 2, AN: 1, NO: 0, DI: 0 };

export const rank = (role: Role) => RANK[role];
export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);
export const isActive = (role: Role): role is ActiveRole => RANK[role] > 0;
export const mostElevated = (roles: readonly Role[]): Role | undefined =>
  roles.reduce<Role | undefined>((best, r) => (best === undefined || RANK[r] > RANK[best] ? r : best), undefined);

/**
 * Where a membership's role came from: LSE's role_source values exactly (SPEC §2). Roster's finer
 * cause of a change (`invite`, `system`, `access_review`, …) is the activity log's `source`.
 */
export const ROLE_SOURCES = ['manual', 'saml', 'scim', 'ldap', 'api', 'billing'] as const;
export type RoleSource = (typeof ROLE_SOURCES)[number];

/**
 * Role sources Roster once stored that LSE has no value for, and the LSE value they are answered
 * with: a role from an invitation or the bootstrap was set by a person, as a `manual` one is (the
 * activity log still says which, in its `source`).
 */
export const LEGACY_ROLE_SOURCES: Readonly<Record<string, RoleSource>> = { invite: 'manual', system: 'manual' };

/** A stored role source as the API answers it: one of LSE's values, or null when there is none. */
export function lseRoleSource(stored: unknown): RoleSource | null {
  if (typeof stored !== 'string') return null;
  if ((ROLE_SOURCES as readonly string[]).includes(stored)) return stored as RoleSource;
  return LEGACY_ROLE_SOURCES[stored] ?? null;
}
