/**
 * The seat report on a seeded organization (manual, invited, SCIM- and SAML-provisioned members,
 * orphaned and missing-membership assignments): its rows and flags against a ground truth the test
 * computes itself from what it seeded, every filter, paging, and who may read it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../lib/core/db.js';
import { type Member, addMember, otherOrg, softDelete } from '../support/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';
import { type SeededAssignment, type SeededMappings, addProjectMember, addWorkspaceMember, putAssignment, putMappings, seedMember } from '../support/reviews.js';

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

async function seed(role: string, source: 'manual' | 'scim' | 'saml', email: string, assignments: (SeededAssignment & { linked: boolean })[] = [], deleted = false): Promise<Truth> {
  const member = await seedMember(db, 1, role as never, source, email);
  const t: Truth = { member, role, source, deleted, assignments: assignments.map((a) => ({ ...a, user_id: member.userId })) };
  for (const a of t.assignments) {
    await putAssignment(db, 1, a);
    if (a.linked && a.kind === 'workspace') await addWorkspaceMember(db, 1, a.workspace_id!, member.userId);
    if (a.linked && a.kind === 'project') await addProjectMember(db, 1, a.project_id!, member.userId);
  }
  if (deleted) await softDelete(db, 1, member.userId);
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

const none = (user_id = 0) => ({ user_id, kind: 'organization_role' as const, group: '', assigned_role: null, source: 'scim' as const, linked: true });

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  ws1 = (await call('POST', '/api/workspaces/', { token: OWNER_TOKEN, body: { title: 'Eng' } })).body.id;
  ws2 = (await call('POST', '/api/workspaces/', { token: OWNER_TOKEN, body: { title: 'Ops' } })).body.id;
  p1 = (await call('POST', '/api/projects/', { token: OWNER_TOKEN, body: { title: 'Labels', workspace: ws1 } })).body.id;
  settings = {
    scim: { roles_groups: [['Annotator', 'eng'], ['Reviewer', 'qa']], workspaces_groups: [['Eng', 'eng']], projects_groups: [{ project_id: p1, group: 'eng', role: 'Reviewer' }], workspace_ids: { Eng: ws1 } },
    saml: { roles_groups: [['Manager', 'saml-managers']], workspaces_groups: [], projects_groups: [], workspace_ids: {} },
  };
  await putMappings(db, 1, 'SCIM', settings.scim);
  await putMappings(db, 1, 'SAML', settings.saml);
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
  // SCIM: everything configured.
  await seed('AN', 'scim', 'scim.ok@example.com', [
    { ...none(), group: 'eng', assigned_role: 'AN' },
    { ...none(), kind: 'workspace', workspace_id: ws1, group: 'eng' },
    { ...none(), kind: 'project', project_id: p1, group: 'eng', assigned_role: 'RE' },
  ]);
  // SCIM: an orphaned role (no such mapping any more), an orphaned and a missing workspace membership.
  await seed('AD', 'scim', 'scim.stale@example.com', [
    { ...none(), group: 'old-admins', assigned_role: 'AD' },
    { ...none(), kind: 'workspace', workspace_id: ws2, group: 'ops' },
    { ...none(), kind: 'workspace', workspace_id: ws1, group: 'eng', linked: false },
  ]);
  // SCIM: a project assignment whose project membership was removed by hand (missing), role still mapped.
  await seed('AN', 'scim', 'scim.noproject@example.com', [
    { ...none(), group: 'eng', assigned_role: 'AN' },
    { ...none(), kind: 'project', project_id: p1, group: 'eng', assigned_role: 'RE', linked: false },
  ]);
  // SAML: configured by the SAML settings; and a SAML record whose group only the SCIM settings map (orphaned: each source has its own).
  await seed('MA', 'saml', 'saml.ok@example.com', [{ ...none(), source: 'saml', group: 'saml-managers', assigned_role: 'MA' }]);
  await seed('AN', 'saml', 'saml.other@example.com', [{ ...none(), source: 'saml', group: 'eng', assigned_role: 'AN' }]);
  // A deleted SCIM member whose record stayed (missing membership); a Deactivated and a Not Activated one.
  await seed('AN', 'scim', 'scim.deleted@example.com', [{ ...none(), group: 'eng', assigned_role: 'AN' }], true);
  await seed('DI', 'scim', 'scim.deactivated@example.com');
  await seed('NO', 'manual', 'not.activated@example.com');
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
