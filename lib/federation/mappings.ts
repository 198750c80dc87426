/**
 * IdP group mappings (SPEC §7), shared in shape by SCIM and SAML: LSE's `roles_groups`,
 * `workspaces_groups` and `projects_groups`, plus Roster's three manual-management switches. This
 * file validates them against the organization (`resolveMappings`) and says what a set of groups
 * gives (`desired`, pure); the engine (engine.ts) carries that out.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, batchGet, getItem, queryAll } from '../core/db.js';
import { ValidationError } from '../core/errors.js';
import { type Role, mostElevated } from '../core/roles.js';
import { keys } from '../core/table.js';
import { now } from '../core/util.js';

export const ROLE_NAMES = ['Administrator', 'Manager', 'Reviewer', 'Annotator'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];
export const PROJECT_GROUP_ROLES = ['Inherit', 'Annotator', 'Reviewer'] as const;
export type ProjectGroupRole = (typeof PROJECT_GROUP_ROLES)[number];
export type MappedRole = 'AD' | 'MA' | 'RE' | 'AN';

const ROLE_OF: Record<RoleName, MappedRole> = { Administrator: 'AD', Manager: 'MA', Reviewer: 'RE', Annotator: 'AN' };
const NAME_OF: Record<MappedRole, RoleName> = { AD: 'Administrator', MA: 'Manager', RE: 'Reviewer', AN: 'Annotator' };
const PROJECT_ROLE_OF: Record<ProjectGroupRole, 'AN' | 'RE' | undefined> = { Inherit: undefined, Annotator: 'AN', Reviewer: 'RE' };

/** LSE's shape, as the API answers it (role names, not codes). */
export interface GroupMappings {
  roles_groups: [RoleName, string][];
  workspaces_groups: [string, string][];
  projects_groups: { project_id: number; group: string; role: ProjectGroupRole }[];
  manual_role_management: boolean;
  manual_workspace_management: boolean;
  manual_project_management: boolean;
}

/** What is stored: the mappings and the workspace ids their titles named when they were saved. */
export interface StoredMappings extends GroupMappings {
  workspace_ids: Record<string, number>;
}

export const EMPTY_MAPPINGS: StoredMappings = {
  roles_groups: [],
  workspaces_groups: [],
  projects_groups: [],
  manual_role_management: false,
  manual_workspace_management: false,
  manual_project_management: false,
  workspace_ids: {},
};

/** The most mappings of each kind an organization may keep (a bound on what one sign-in evaluates). */
export const MAX_MAPPINGS = 500;
export const MAX_GROUP_LENGTH = 256;

/** Accept LSE's names and Roster's codes alike; answer names. */
function roleName(v: unknown): RoleName | undefined {
  if (typeof v !== 'string') return undefined;
  if ((ROLE_NAMES as readonly string[]).includes(v)) return v as RoleName;
  return NAME_OF[v as MappedRole];
}
function projectRoleName(v: unknown): ProjectGroupRole | undefined {
  if (typeof v !== 'string') return undefined;
  if ((PROJECT_GROUP_ROLES as readonly string[]).includes(v)) return v as ProjectGroupRole;
  return v === 'AN' ? 'Annotator' : v === 'RE' ? 'Reviewer' : undefined;
}

const groupOk = (g: unknown): g is string => typeof g === 'string' && g.length > 0 && g.length <= MAX_GROUP_LENGTH;

/**
 * Validate an API body into stored mappings. Fields left out keep their `current` value (LSE's POST
 * replaces the fields it is given). Unknown roles, workspaces and projects are a 400 naming each.
 * Reads: the organization's workspaces (one Query) and the named projects (one BatchGet).
 */
export async function resolveMappings(db: Db, orgId: number, body: unknown, current: StoredMappings = EMPTY_MAPPINGS): Promise<StoredMappings> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('Validation error', { non_field_errors: ['Expected an object.'] });
  const b = body as Record<string, unknown>;
  const errors: Record<string, string[]> = {};
  const fail = (field: string, msg: string) => (errors[field] ??= []).push(msg);
  const list = (field: string): unknown[] | undefined => {
    const v = b[field];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return fail(field, 'Expected a list.'), [];
    if (v.length > MAX_MAPPINGS) return fail(field, `At most ${MAX_MAPPINGS} mappings.`), [];
    return v;
  };

  const roles: [RoleName, string][] = [];
  const rolesIn = list('roles_groups');
  rolesIn?.forEach((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) return fail('roles_groups', `Item ${i}: expected [role, group].`);
    const role = roleName(pair[0]);
    if (!role) return fail('roles_groups', `Item ${i}: unknown role ${JSON.stringify(pair[0])}; allowed: ${ROLE_NAMES.join(', ')} (never Owner, Not Activated or Deactivated).`);
    if (!groupOk(pair[1])) return fail('roles_groups', `Item ${i}: the group must be a non-empty string of at most ${MAX_GROUP_LENGTH} characters.`);
    roles.push([role, pair[1]]);
  });

  const wsIn = list('workspaces_groups');
  const wsPairs: [string, string][] = [];
  wsIn?.forEach((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || !pair[0]) return fail('workspaces_groups', `Item ${i}: expected [workspace title, group].`);
    if (!groupOk(pair[1])) return fail('workspaces_groups', `Item ${i}: the group must be a non-empty string of at most ${MAX_GROUP_LENGTH} characters.`);
    wsPairs.push([pair[0], pair[1]]);
  });

  const projIn = list('projects_groups');
  const projects: GroupMappings['projects_groups'] = [];
  projIn?.forEach((item, i) => {
    const o = item as Record<string, unknown>;
    if (typeof o !== 'object' || o === null) return fail('projects_groups', `Item ${i}: expected {project_id, group, role}.`);
    if (!Number.isSafeInteger(o.project_id) || (o.project_id as number) < 1) return fail('projects_groups', `Item ${i}: project_id must be a positive integer.`);
    if (!groupOk(o.group)) return fail('projects_groups', `Item ${i}: the group must be a non-empty string of at most ${MAX_GROUP_LENGTH} characters.`);
    const role = o.role === undefined ? 'Inherit' : projectRoleName(o.role);
    if (!role) return fail('projects_groups', `Item ${i}: unknown role ${JSON.stringify(o.role)}; allowed: ${PROJECT_GROUP_ROLES.join(', ')}.`);
    projects.push({ project_id: o.project_id as number, group: o.group, role });
  });

  const flags = ['manual_role_management', 'manual_workspace_management', 'manual_project_management'] as const;
  for (const f of flags) if (b[f] !== undefined && typeof b[f] !== 'boolean') fail(f, 'Must be true or false.');

  // Workspaces by title and the named projects, read together.
  const [workspaces, found] = await Promise.all([
    wsPairs.length ? queryAll(db, { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :ws)', ExpressionAttributeValues: { ':pk': keys.organization(orgId).PK, ':ws': 'WS#' }, ProjectionExpression: 'id, title' }) : Promise.resolve([]),
    projects.length ? batchGet(db, [...new Set(projects.map((p) => p.project_id))].map((id) => keys.project(orgId, id)), true) : Promise.resolve([]),
  ]);
  const byTitle = new Map<string, number>();
  for (const w of workspaces) if (!byTitle.has(String(w.title))) byTitle.set(String(w.title), Number(w.id));
  const unknownWs = [...new Set(wsPairs.map(([t]) => t).filter((t) => !byTitle.has(t)))];
  if (unknownWs.length) fail('workspaces_groups', `Unknown workspaces: ${unknownWs.map((t) => JSON.stringify(t)).join(', ')}.`);
  const projectIds = new Set(found.map((p) => Number(p.id)));
  const unknownProjects = [...new Set(projects.map((p) => p.project_id).filter((id) => !projectIds.has(id)))];
  if (unknownProjects.length) fail('projects_groups', `Unknown projects: ${unknownProjects.join(', ')}.`);
  if (Object.keys(errors).length) throw new ValidationError('Validation error', errors);

  const workspace_ids = wsIn ? Object.fromEntries(wsPairs.map(([t]) => [t, byTitle.get(t)!])) : current.workspace_ids;
  return {
    roles_groups: rolesIn ? dedupe(roles) : current.roles_groups,
    workspaces_groups: wsIn ? dedupe(wsPairs) : current.workspaces_groups,
    projects_groups: projIn ? dedupeBy(projects, (p) => `${p.project_id}\u0000${p.group}`) : current.projects_groups,
    manual_role_management: (b.manual_role_management as boolean | undefined) ?? current.manual_role_management,
    manual_workspace_management: (b.manual_workspace_management as boolean | undefined) ?? current.manual_workspace_management,
    manual_project_management: (b.manual_project_management as boolean | undefined) ?? current.manual_project_management,
    workspace_ids,
  };
}

const dedupe = <T extends [string, string]>(pairs: T[]) => dedupeBy(pairs, ([a, b]) => `${a}\u0000${b}`);
function dedupeBy<T>(items: T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((i) => (seen.has(key(i)) ? false : (seen.add(key(i)), true)));
}

/** The API's view: LSE's fields and Roster's switches, without the stored ids. */
export function mappingsView(m: StoredMappings): GroupMappings {
  const { workspace_ids: _ids, ...view } = m;
  return view;
}

export interface Desired {
  /** Undefined: the mappings do not decide the role (manual role management, or no roles_groups). */
  role?: { role: MappedRole | 'DI'; group?: string };
  /** Workspace id → the group behind it; undefined under manual workspace management. */
  workspaces?: Map<number, string>;
  /** Project id → the group behind it and the project role it brings; undefined under manual project management. */
  projects?: Map<number, { group: string; role?: 'AN' | 'RE' }>;
}

/**
 * What a member's groups give (pure). The most elevated mapped role wins (ties: the first mapping
 * listed names the group); in no role group → DI. A project in several mapped groups takes the most
 * elevated project role among them (a role over Inherit). Group names match case-sensitively.
 */
export function desired(m: StoredMappings, groups: readonly string[]): Desired {
  const inGroup = new Set(groups);
  const out: Desired = {};
  if (!m.manual_role_management && m.roles_groups.length) {
    const hits = m.roles_groups.filter(([, g]) => inGroup.has(g)).map(([name, group]) => ({ role: ROLE_OF[name], group }));
    const best = mostElevated(hits.map((h) => h.role as Role)) as MappedRole | undefined;
    out.role = best ? { role: best, group: hits.find((h) => h.role === best)!.group } : { role: 'DI' };
  }
  if (!m.manual_workspace_management) {
    out.workspaces = new Map();
    for (const [title, group] of m.workspaces_groups) {
      const id = m.workspace_ids[title];
      if (id !== undefined && inGroup.has(group) && !out.workspaces.has(id)) out.workspaces.set(id, group);
    }
  }
  if (!m.manual_project_management) {
    out.projects = new Map();
    for (const p of m.projects_groups) {
      if (!inGroup.has(p.group)) continue;
      const role = PROJECT_ROLE_OF[p.role];
      const prev = out.projects.get(p.project_id);
      if (!prev || (role && (!prev.role || (role === 'RE' && prev.role === 'AN')))) out.projects.set(p.project_id, { group: p.group, ...(role ? { role } : {}) });
    }
  }
  return out;
}

/** Whether the mappings still map `group` to what an assignment record stands for (the seat report's `configured`). */
export function stillMapped(m: StoredMappings, a: { kind: string; group: string; workspace_id?: number; project_id?: number; assigned_role?: string | null }): boolean {
  if (a.kind === 'organization_role') return m.roles_groups.some(([name, g]) => g === a.group && ROLE_OF[name] === a.assigned_role);
  if (a.kind === 'workspace') return m.workspaces_groups.some(([t, g]) => g === a.group && m.workspace_ids[t] === a.workspace_id);
  return m.projects_groups.some((p) => p.group === a.group && p.project_id === a.project_id && (PROJECT_ROLE_OF[p.role] ?? null) === (a.assigned_role ?? null));
}

export const storedMappingsOf = (item: Record<string, unknown> | undefined): StoredMappings => {
  if (!item) return EMPTY_MAPPINGS;
  const { PK: _pk, SK: _sk, type: _t, _ctx: _c, updated_at: _u, ...rest } = item;
  return { ...EMPTY_MAPPINGS, ...(rest as Partial<StoredMappings>) };
};

/** The organization's SCIM mappings (defaults when none were saved). */
export async function getScimMappings(db: Db, orgId: number): Promise<StoredMappings> {
  return storedMappingsOf(await getItem(db, keys.scimSettings(orgId)));
}

export async function putScimMappings(db: Db, orgId: number, m: StoredMappings): Promise<void> {
  await db.doc.send(new PutCommand({ TableName: db.table, Item: { ...keys.scimSettings(orgId), type: 'scim_settings', ...m, updated_at: now() } }));
}
