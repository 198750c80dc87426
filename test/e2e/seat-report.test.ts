/**
 * The seat report on a seeded organization (manual, invited, SCIM- and SAML-provisioned members,
 * orphaned and missing-membership assignments): its rows and flags against a ground truth the test
 * computes itself from what it did, every filter, paging, and who may read it. IdP members are
 * provisioned and given their access by the federation engine (its assignment records); the test
 * then changes the settings and removes memberships by hand through the API, as an administrator would.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../lib/core/db.js';
import { type Member, addMember, otherOrg } from '../support/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';
import { withChangeContext } from '../../lib/core/context.js';
import { applyMappings } from '../../lib/federation/engine.js';
import { type StoredMappings, putScimMappings, resolveMappings } from '../../lib/federation/mappings.js';
import { provisionMember } from '../../lib/federation/provision.js';
import { type SeededAssignment, type SeededMappings, putMappings, seedMember } from '../support/reviews.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;

const ROLE = { Administrator: 'AD', Manager: 'MA', Reviewer: 'RE', Annotator: 'AN' } as Record<string, string>;

interface Truth {
  member: Member;
  role: string;
  source: string;
  deleted: boolean;
  assignments: (SeededAssignment & { linked: boolean })[];
}
const truth: Truth[] = [];
let settings: Record<'scim' | 'saml', SeededMappings>;
let ws1: number, ws2: number, p1: number;

/** What the test expects a record's status to be, from what it seeded. */
function expectedStatus(t: Truth, a: Truth['assignments'][number]): string {
  if (t.deleted || !a.linked) return 'missing_membership';
  const m = settings[a.source];
  const mapped =
    a.kind === 'organization_role'
      ? m.roles_groups.some(([name, g]) => g === a.group && ROLE[name] === a.assigned_role)
      : a.kind === 'workspace'
        ? m.workspaces_groups.some(([title, g]) => g === a.group && m.workspace_ids[title] === a.workspace_id)
        : m.projects_groups.some((p) => p.group === a.group && p.project_id === a.project_id && (ROLE[p.role] ?? null) === a.assigned_role);
  return mapped ? 'configured' : 'orphaned';
}
const expectedRow = (t: Truth) => {
  const statuses = t.assignments.map((a) => `${a.kind}:${a.workspace_id ?? a.project_id ?? '-'}:${expectedStatus(t, a)}`).sort();
  return {
    user_id: t.member.userId,
    organization_role: t.role,
    role_source: t.source,
    counts_toward_seat_limit: !t.deleted && t.role !== 'NO' && t.role !== 'DI',
    has_stale_role_assignments: t.assignments.some((a) => a.kind !== 'workspace' && expectedStatus(t, a) !== 'configured'),
    statuses,
  };
};
const actualRow = (r: any) => ({
  user_id: r.user_id,
  organization_role: r.organization_role,
  role_source: r.role_source,
  counts_toward_seat_limit: r.counts_toward_seat_limit,
  has_stale_role_assignments: r.has_stale_role_assignments,
  statuses: [
    ...r.organization_role_assignments.map((a: any) => `organization_role:-:${a.mapping_status}`),
    ...r.workspace_access_assignments.map((a: any) => `workspace:${a.workspace_id}:${a.mapping_status}`),
    ...r.project_role_assignments.map((a: any) => `project:${a.project_id}:${a.mapping_status}`),
  ].sort(),
});

type Expected = Omit<SeededAssignment, 'user_id'> & { linked: boolean };

/** Provision a person through the engine (source `scim` or `saml`) with these groups, under these mappings; `expected`: the records the test expects the engine to write. */
async function viaIdp(source: 'scim' | 'saml', email: string, groups: string[], mappings: StoredMappings, expected: Expected[]): Promise<Truth> {
  const { user } = await withChangeContext({ source }, () => provisionMember(db, 1, { email }, source));
  await withChangeContext({ source }, () => applyMappings(db, { orgId: 1, userId: user.id, groups, source, mappings }));
  const role = (await call('GET', `/api/organizations/1/memberships/${user.id}/`, { token: OWNER_TOKEN })).body.role;
  const t: Truth = { member: { userId: user.id, email, token: '' }, role, source, deleted: false, assignments: expected.map((a) => ({ ...a, user_id: user.id })) };
  truth.push(t);
  return t;
}

/** Every row of the report, following `next` links. */
async function allRows(query: string, token = OWNER_TOKEN): Promise<any[]> {
  const rows: any[] = [];
  let path: string | null | undefined = `/api/organizations/1/seat-report?page_size=3${query ? `&${query}` : ''}`;
  while (path) {
    const r: { status: number; body: any } = await call('GET', path, { token });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    rows.push(...r.body.results);
    expect(r.body.count).toBeGreaterThanOrEqual(rows.length);
    path = r.body.next ? r.body.next.slice(r.body.next.indexOf('/api/')) : null;
  }
  return rows;
}

const rec = (x: Partial<Expected> & Pick<Expected, 'group'>): Expected => ({ kind: 'organization_role', assigned_role: null, source: 'scim', linked: true, ...x });

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  ws1 = (await call('POST', '/api/workspaces/', { token: OWNER_TOKEN, body: { title: 'Eng' } })).body.id;
  ws2 = (await call('POST', '/api/workspaces/', { token: OWNER_TOKEN, body: { title: 'Ops' } })).body.id;
  p1 = (await call('POST', '/api/projects/', { token: OWNER_TOKEN, body: { title: 'Labels', workspace: ws1 } })).body.id;
  // What the IdP members were provisioned under (SCIM), and the SAML settings.
  const initial = await resolveMappings(db, 1, {
    roles_groups: [['Annotator', 'eng'], ['Administrator', 'old-admins']],
    workspaces_groups: [['Eng', 'eng'], ['Ops', 'ops']],
    projects_groups: [{ project_id: p1, group: 'eng', role: 'Reviewer' }],
  });
  const saml = await resolveMappings(db, 1, { roles_groups: [['Manager', 'saml-managers']] });
  // The settings at the end: role and workspace management switched to manual, two mappings gone (their access kept).
  settings = {
    scim: { roles_groups: [['Annotator', 'eng'], ['Reviewer', 'qa']], workspaces_groups: [['Eng', 'eng']], projects_groups: [{ project_id: p1, group: 'eng', role: 'Reviewer' }], workspace_ids: { Eng: ws1 } },
    saml: { roles_groups: [['Manager', 'saml-managers']], workspaces_groups: [], projects_groups: [], workspace_ids: {} },
  };
  // The Owner (bootstrap) and a manual member.
  truth.push({ member: { userId: 1, email: 'owner@example.com', token: OWNER_TOKEN }, role: 'OW', source: 'manual', deleted: false, assignments: [] });
  truth.push({ member: await addMember(db, 1, 'AN', 'manual@example.com'), role: 'AN', source: 'manual', deleted: false, assignments: [] });
  // An invited member, through the API: invitation, then sign-up with the emailed token.
  await call('POST', '/api/invite/send-email', { token: OWNER_TOKEN, body: { emails: ['invited@example.com'], role: 'RE' } });
  const dir = process.env.ROSTER_OUTBOX_DIR!;
  const mail = readdirSync(dir).filter((f) => f.endsWith('-invited@example.com.eml')).map((f) => readFileSync(join(dir, f), 'utf8')).at(-1)!;
  const token = /\/user\/signup\/\?token=([0-9a-f]+)/.exec(mail)![1]!;
  const signup = await call('POST', '/api/invite/signup', { body: { token, email: 'invited@example.com', password: 'Str0ng-pass!' } });
  expect(signup.status, JSON.stringify(signup.body)).toBeLessThan(300);
  const invitedId = (await call('GET', '/api/organizations/1/memberships?search=invited@example.com', { token: OWNER_TOKEN })).body.results[0].user.id;
  truth.push({ member: { userId: invitedId, email: 'invited@example.com', token: '' }, role: 'RE', source: 'manual', deleted: false, assignments: [] });
  const eng = [rec({ group: 'eng', assigned_role: 'AN' }), rec({ kind: 'workspace', workspace_id: ws1, group: 'eng' }), rec({ kind: 'project', project_id: p1, group: 'eng', assigned_role: 'RE' })];
  // SCIM: everything configured.
  await viaIdp('scim', 'scim.ok@example.com', ['eng'], initial, eng);
  // SCIM: a role and a workspace whose mappings go away (orphaned), and a workspace membership removed by hand (missing).
  const stale = await viaIdp('scim', 'scim.stale@example.com', ['old-admins', 'ops', 'eng'], initial, [
    rec({ group: 'old-admins', assigned_role: 'AD' }),
    rec({ kind: 'workspace', workspace_id: ws1, group: 'eng', linked: false }),
    rec({ kind: 'workspace', workspace_id: ws2, group: 'ops' }),
    rec({ kind: 'project', project_id: p1, group: 'eng', assigned_role: 'RE' }),
  ]);
  expect((await call('DELETE', `/api/workspaces/${ws1}/memberships/?user_id=${stale.member.userId}`, { token: OWNER_TOKEN })).status).toBe(204);
  // SCIM: a project membership removed by hand (missing), the role still mapped.
  const noProject = await viaIdp('scim', 'scim.noproject@example.com', ['eng'], initial, [eng[0]!, eng[1]!, { ...eng[2]!, linked: false }]);
  expect((await call('DELETE', `/api/projects/${p1}/members/?user=${noProject.member.userId}`, { token: OWNER_TOKEN })).status).toBe(204);
  // SAML: configured by the SAML settings; and a SAML member provisioned under mappings the SAML settings do not hold (orphaned: each source has its own).
  await viaIdp('saml', 'saml.ok@example.com', ['saml-managers'], saml, [rec({ source: 'saml', group: 'saml-managers', assigned_role: 'MA' })]);
  await viaIdp('saml', 'saml.other@example.com', ['eng'], initial, eng.map((a) => ({ ...a, source: 'saml' as const })));
  // A deleted SCIM member whose records stayed (missing membership).
  const gone = await viaIdp('scim', 'scim.deleted@example.com', ['eng'], initial, eng);
  expect((await call('DELETE', `/api/organizations/1/memberships/${gone.member.userId}/`, { token: OWNER_TOKEN })).status).toBe(204);
  gone.deleted = true;
  // A Deactivated and a Not Activated member without records.
  truth.push({ member: await seedMember(db, 1, 'DI', 'scim', 'scim.deactivated@example.com'), role: 'DI', source: 'scim', deleted: false, assignments: [] });
  truth.push({ member: await seedMember(db, 1, 'NO', 'manual', 'not.activated@example.com'), role: 'NO', source: 'manual', deleted: false, assignments: [] });
  // The settings change (manual management on, so nothing is taken away).
  const { workspace_ids: _ids, ...body } = settings.scim;
  await putScimMappings(db, 1, { ...(await resolveMappings(db, 1, body)), manual_role_management: true, manual_workspace_management: true });
  await putMappings(db, 1, 'SAML', settings.saml);
}, 120_000);
afterAll(() => roster?.stop());

describe('GET /api/organizations/{id}/seat-report', () => {
  it('answers one row per member, deleted ones included, equal to the ground truth (roles, sources, seats, staleness, every assignment\'s status)', async () => {
    const rows = await allRows('');
    expect(rows.map(actualRow).sort((a, b) => a.user_id - b.user_id)).toEqual(truth.map(expectedRow).sort((a, b) => a.user_id - b.user_id));
    // The truth exercises every status and both seat outcomes.
    const statuses = new Set(rows.flatMap((r) => [...r.organization_role_assignments, ...r.workspace_access_assignments, ...r.project_role_assignments].map((a: any) => a.mapping_status)));
    expect([...statuses].sort()).toEqual(['configured', 'missing_membership', 'orphaned']);
  });

  it('names each assignment\'s group, role, target title and link in LSE\'s shape', async () => {
    const [row] = await allRows('email=SCIM.OK@example.com');
    expect(row).toMatchObject({ email: 'scim.ok@example.com', user_type: 'standard', organization_role_display: 'Annotator', role_source_display: 'SCIM', account_is_active: true });
    expect(row.organization_role_assignments).toEqual([
      expect.objectContaining({ identity_provider_group: 'eng', assigned_role: 'AN', assigned_role_display: 'Annotator', linked_membership_id: row.user_id, mapping_status: 'configured', mapping_status_display: 'Configured', source: 'scim' }),
    ]);
    expect(row.workspace_access_assignments).toEqual([expect.objectContaining({ workspace_id: ws1, workspace_title: 'Eng', identity_provider_group: 'eng' })]);
    expect(row.project_role_assignments).toEqual([expect.objectContaining({ project_id: p1, project_title: 'Labels', assigned_role: 'RE' })]);
    const [gone] = await allRows('email=scim.deleted@example.com');
    expect(gone.organization_role_assignments[0]).toMatchObject({ linked_membership_id: null, mapping_status: 'missing_membership' });
    expect(gone.deleted_at).not.toBeNull();
  });

  it.each([
    ['counts_toward_seat_limit=true', (t: Truth) => expectedRow(t).counts_toward_seat_limit],
    ['counts_toward_seat_limit=false', (t: Truth) => !expectedRow(t).counts_toward_seat_limit],
    ['has_stale_role_assignments=true', (t: Truth) => expectedRow(t).has_stale_role_assignments],
    ['has_stale_role_assignments=false', (t: Truth) => !expectedRow(t).has_stale_role_assignments],
    ['role_source=scim,saml', (t: Truth) => t.source !== 'manual'],
    ['role_source=manual', (t: Truth) => t.source === 'manual'],
    ['search=scim.', (t: Truth) => t.member.email.includes('scim.')],
    ['search=scim.&has_stale_role_assignments=true&counts_toward_seat_limit=true', (t: Truth) => t.member.email.includes('scim.') && expectedRow(t).has_stale_role_assignments && expectedRow(t).counts_toward_seat_limit],
  ])('filters by %s to exactly the members the truth says', async (query, keep) => {
    const rows = await allRows(query);
    expect(rows.map((r) => r.user_id).sort((a, b) => a - b)).toEqual(truth.filter(keep).map((t) => t.member.userId).sort((a, b) => a - b));
    const first = await call('GET', `/api/organizations/1/seat-report?page_size=2&${query}`, { token: OWNER_TOKEN });
    expect(first.body.count).toBe(rows.length);
  });

  it('orders by user id either way, pages by number (past the last: 404 Invalid page.), and refuses other orderings naming the field', async () => {
    const up = (await allRows('ordering=user_id')).map((r) => r.user_id);
    const down = (await allRows('ordering=-user_id')).map((r) => r.user_id);
    expect(down).toEqual([...up].reverse());
    expect(up).toEqual([...up].sort((a, b) => a - b));
    const page2 = await call('GET', '/api/organizations/1/seat-report?page=2&page_size=4', { token: OWNER_TOKEN });
    expect(page2.body.results.map((r: any) => r.user_id)).toEqual(up.slice(4, 8));
    expect(page2.body.previous).toContain('page=1');
    expect((await call('GET', '/api/organizations/1/seat-report?page=99&page_size=4', { token: OWNER_TOKEN })).body).toEqual({ detail: 'Invalid page.' });
    expect((await call('GET', '/api/organizations/1/seat-report?page=9&page_size=4&has_stale_role_assignments=true', { token: OWNER_TOKEN })).status).toBe(404);
    const bad = await call('GET', '/api/organizations/1/seat-report?ordering=email', { token: OWNER_TOKEN });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.validation_errors)).toEqual(['ordering']);
    expect(Object.keys((await call('GET', '/api/organizations/1/seat-report?role_source=invite', { token: OWNER_TOKEN })).body.validation_errors)).toEqual(['role_source.0']);
    expect((await call('GET', '/api/organizations/1/seat-report?page_size=5000', { token: OWNER_TOKEN })).body.validation_errors).toHaveProperty('page_size');
  });

  it('adds seat_usage only when asked: seats taken and members, as the truth counts them', async () => {
    const plain = await call('GET', '/api/organizations/1/seat-report?page_size=1', { token: OWNER_TOKEN });
    expect(plain.body).not.toHaveProperty('seat_usage');
    const r = await call('GET', '/api/organizations/1/seat-report?page_size=1&include_seat_usage=true', { token: OWNER_TOKEN });
    expect(r.body.seat_usage).toEqual({
      count: truth.filter((t) => expectedRow(t).counts_toward_seat_limit).length,
      total: truth.filter((t) => !t.deleted).length,
      limit: null,
      reached: false,
      scope: 'organization',
    });
  });

  it('reads the assignments of a page in a fixed number of calls, whatever the page size', async () => {
    const calls = async (size: number) => {
      await call('GET', `/api/organizations/1/seat-report?page_size=${size}`, { token: OWNER_TOKEN });
      const line = roster.lines.findLast((l) => l.includes('/seat-report?'))!;
      return Number(/db=(\d+)\//.exec(line)![1]);
    };
    // Both pages hold members with role, workspace and project assignments (ids in seeding order).
    expect(await calls(14)).toBe(await calls(6));
  });

  it('is for the Owner and Administrators only; another organization is 404', async () => {
    for (const role of ['MA', 'RE', 'AN'] as const) {
      const m = await addMember(db, 1, role);
      expect((await call('GET', '/api/organizations/1/seat-report', { token: m.token })).status).toBe(403);
    }
    const ad = await addMember(db, 1, 'AD');
    expect((await call('GET', '/api/organizations/1/seat-report?page_size=1', { token: ad.token })).status).toBe(200);
    const other = await otherOrg(db);
    expect((await call('GET', '/api/organizations/1/seat-report', { token: other.owner.token })).status).toBe(404);
    expect((await call('GET', '/api/organizations/1/seat-report')).status).toBe(401);
  });
});
