/**
 * Access-review definitions, instances and items through the API: a review's items equal the grants
 * the API itself reports at that moment; changes after the snapshot do not alter the instance (its
 * SHA-256 still verifies); a second instance flags exactly what changed; reasons, flags, reviewers
 * and who may see what; the revoke-by-default guard; the scheduler starting a due review.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../lib/core/db.js';
import { keys } from '../../lib/core/table.js';
import { digestSnapshot } from '../../lib/reviews/snapshot.js';
import { type Member, addMember, otherOrg } from '../support/db.js';
import { OWNER_TOKEN, client, startTestRoster } from '../support/roster.js';
import { withChangeContext } from '../../lib/core/context.js';
import { applyMappings } from '../../lib/federation/engine.js';
import { putScimMappings, resolveMappings } from '../../lib/federation/mappings.js';
import { provisionMember } from '../../lib/federation/provision.js';
import { addWorkspaceMember } from '../support/reviews.js';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;
const m: Record<string, Member> = {};
let ws1: number, ws2: number, p1: number, p2: number;

const T = OWNER_TOKEN;
const get = async (path: string, token = T) => {
  const r = await call('GET', path, { token });
  expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(200);
  return r.body;
};

/** Every item of an instance, following `next` links. */
async function items(inst: number, query = '', token = T): Promise<any[]> {
  const out: any[] = [];
  let path: string | undefined = `/api/access-reviews/instances/${inst}/items/?page_size=7${query ? `&${query}` : ''}`;
  while (path) {
    const body: any = await get(path, token);
    out.push(...body.results);
    path = body.next ? body.next.slice(body.next.indexOf('/api/')) : undefined;
  }
  return out;
}

/** Start an instance of a definition and wait until its snapshot is complete (the stream consumer takes it). */
async function startAndWait(def: number): Promise<any> {
  const r = await call('POST', `/api/access-reviews/definitions/${def}/start`, { token: T });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  expect(r.body).toMatchObject({ status: 'building', trigger: 'manual', definition: def });
  return opened(r.body.id);
}
async function opened(id: number): Promise<any> {
  const deadline = Date.now() + 150_000;
  for (;;) {
    const inst = await get(`/api/access-reviews/instances/${id}/`);
    if (inst.status === 'open') return inst;
    if (Date.now() > deadline) throw new Error(`instance not open: ${JSON.stringify(inst)}`);
    await new Promise((res) => setTimeout(res, 150));
  }
}

/** The grants the API reports now, as `user|grant|role` lines (active members only: NO and DI have no access). */
async function grantsByApi(): Promise<string[]> {
  const members: any[] = [];
  let path: string | undefined = '/api/organizations/1/memberships?page_size=100';
  while (path) {
    const body: any = await get(path);
    members.push(...body.results);
    path = body.next ? body.next.slice(body.next.indexOf('/api/')) : undefined;
  }
  const active = new Set(members.filter((x) => !['NO', 'DI'].includes(x.role)).map((x) => x.user.id));
  const pad = (n: number) => String(n).padStart(10, '0');
  const out = members.filter((x) => active.has(x.user.id)).map((x) => `${x.user.id}|R|${x.role}`);
  for (const w of await get('/api/workspaces/')) {
    for (const x of await get(`/api/workspaces/${w.id}/memberships/`)) if (active.has(x.user.id)) out.push(`${x.user.id}|W#${pad(w.id)}|null`);
  }
  for (const p of (await get('/api/projects/?page_size=100')).results) {
    for (const x of await get(`/api/projects/${p.id}/members/`)) if (active.has(x.id) && !x.implicit_member) out.push(`${x.id}|P#${pad(p.id)}|null`);
  }
  for (const r of await get('/api/projects/roles/')) if (active.has(r.user)) out.push(`${r.user}|PR#${pad(r.project)}|${r.role}`);
  return out.sort();
}
const asLines = (list: any[]) => list.map((i) => `${i.user_id}|${i.grant}|${i.role}`).sort();

const definition = async (body: Record<string, unknown>, token = T) => call('POST', '/api/access-reviews/definitions/', { token, body });

beforeAll(async () => {
  process.env.ROSTER_REVIEW_SWEEP_MS = '500';
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  for (const role of ['AD', 'MA', 'RE', 'AN'] as const) m[role] = await addMember(db, 1, role, `${role.toLowerCase()}@example.com`);
  m.AN2 = await addMember(db, 1, 'AN', 'an2@example.com');
  m.DI = await addMember(db, 1, 'DI', 'di@example.com');
  ws1 = (await call('POST', '/api/workspaces/', { token: T, body: { title: 'W1' } })).body.id;
  ws2 = (await call('POST', '/api/workspaces/', { token: m.AD!.token, body: { title: 'W2' } })).body.id;
  p1 = (await call('POST', '/api/projects/', { token: T, body: { title: 'P1', workspace: ws1 } })).body.id;
  p2 = (await call('POST', '/api/projects/', { token: T, body: { title: 'P2' } })).body.id;
  // Grants through the API (explained: a person granted them) ...
  for (const u of [m.MA!, m.AN!, m.DI!]) expect((await call('POST', `/api/workspaces/${ws1}/memberships/`, { token: T, body: { user: u.userId } })).status).toBe(200);
  expect((await call('POST', `/api/projects/${p2}/members/`, { token: m.AD!.token, body: { user: m.RE!.userId } })).status).toBe(201);
  expect((await call('POST', `/api/projects/${p2}/members/`, { token: T, body: { user: m.AN2!.userId } })).status).toBe(201);
  expect((await call('POST', '/api/projects/roles/', { token: T, body: { project: p1, user: m.AN!.userId, role: 'RE' } })).status).toBe(201);
  // ... one written with nobody behind it (unexplained), and a member the SCIM engine provisioned (its assignment records).
  await addWorkspaceMember(db, 1, ws2, m.AN2!.userId);
  const mappings = await resolveMappings(db, 1, { roles_groups: [['Annotator', 'eng']], workspaces_groups: [['W1', 'eng']] });
  await putScimMappings(db, 1, mappings);
  const { user } = await withChangeContext({ source: 'scim' }, () => provisionMember(db, 1, { email: 'scim@example.com' }, 'scim'));
  await withChangeContext({ source: 'scim' }, () => applyMappings(db, { orgId: 1, userId: user.id, groups: ['eng'], source: 'scim', mappings }));
  m.SCIM = { userId: user.id, email: user.email, token: '' };
  // An annotator not seen for 200 days.
  await db.doc.send(new UpdateCommand({ TableName: db.table, Key: keys.membership(1, m.AN2!.userId), UpdateExpression: 'SET #u.last_activity = :t', ExpressionAttributeNames: { '#u': 'user' }, ExpressionAttributeValues: { ':t': new Date(Date.now() - 200 * 86_400_000).toISOString() } }));
}, 180_000);
afterAll(async () => {
  delete process.env.ROSTER_REVIEW_SWEEP_MS;
  await roster?.stop();
});

describe('review definitions', () => {
  it('are created with defaults (all grants, all members, Administrators, 90 days, nothing at the end) and read, listed, changed and deleted', async () => {
    const r = await definition({ title: 'Quarterly' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      title: 'Quarterly',
      scope: { grants: ['organization_role', 'workspace_membership', 'project_membership', 'project_role'], population: 'all' },
      reviewers: { mode: 'administrators', user_ids: [], fallback_user_ids: [] },
      inactivity_days: 90,
      end_action: 'nothing',
      auto_apply: false,
      schedule: null,
      last_instance: null,
    });
    expect((await get(`/api/access-reviews/definitions/${r.body.id}/`)).title).toBe('Quarterly');
    const changed = await call('PATCH', `/api/access-reviews/definitions/${r.body.id}/`, { token: T, body: { inactivity_days: 30, scope: { population: 'privileged' } } });
    expect(changed.body).toMatchObject({ inactivity_days: 30, scope: { population: 'privileged', grants: r.body.scope.grants } });
    expect((await get('/api/access-reviews/definitions/')).results.map((d: any) => d.id)).toContain(r.body.id);
    expect((await call('DELETE', `/api/access-reviews/definitions/${r.body.id}/`, { token: T })).status).toBe(204);
    expect((await call('GET', `/api/access-reviews/definitions/${r.body.id}/`, { token: T })).status).toBe(404);
  });

  it('refuse revoke-by-default with auto-apply unless confirmed, naming the field (also when a change makes it so)', async () => {
    const bad = await definition({ title: 'Strip', end_action: 'revoke', auto_apply: true });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.validation_errors)).toEqual(['confirm_revoke_by_default']);
    const good = await definition({ title: 'Strip', end_action: 'revoke', auto_apply: true, confirm_revoke_by_default: true });
    expect(good.status).toBe(201);
    const manual = await definition({ title: 'Manual revoke', end_action: 'revoke' });
    expect(manual.status).toBe(201);
    const patch = await call('PATCH', `/api/access-reviews/definitions/${manual.body.id}/`, { token: T, body: { auto_apply: true } });
    expect(patch.status).toBe(400);
    expect(Object.keys(patch.body.validation_errors)).toEqual(['confirm_revoke_by_default']);
    expect((await get(`/api/access-reviews/definitions/${manual.body.id}/`)).auto_apply).toBe(false);
  });

  it('refuse bad input naming each field: unknown grant kinds, named reviewers who are no members, bounds', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ title: 'x', scope: { grants: ['everything'] } }, 'scope.grants.0'],
      [{ title: 'x', reviewers: { mode: 'members' } }, 'reviewers.user_ids'],
      [{ title: 'x', reviewers: { mode: 'members', user_ids: [999_999] } }, 'reviewers.user_ids'],
      [{ title: 'x', reviewers: { fallback_user_ids: [m.DI!.userId] } }, 'reviewers.fallback_user_ids'],
      [{ title: 'x', inactivity_days: 0 }, 'inactivity_days'],
      [{ title: 'x', duration_days: 10_000 }, 'duration_days'],
      [{ title: 'x', end_action: 'delete' }, 'end_action'],
      [{ title: 'x', schedule: { frequency: 'hourly', start_at: new Date().toISOString() } }, 'schedule.frequency'],
      [{ title: '' }, 'title'],
      [{ title: 'x', surprise: 1 }, 'non_field_errors'],
    ];
    for (const [body, field] of cases) {
      const r = await definition(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys(r.body.validation_errors), JSON.stringify(body)).toEqual([field]);
    }
  });

  it('are managed by the Owner and Administrators only; other organizations see none of them', async () => {
    for (const role of ['MA', 'RE', 'AN'] as const) expect((await definition({ title: 'x' }, m[role]!.token)).status).toBe(403);
    const mine = await definition({ title: 'Mine' }, m.AD!.token);
    expect(mine.status).toBe(201);
    const other = await otherOrg(db, 'Elsewhere');
    expect((await call('GET', `/api/access-reviews/definitions/${mine.body.id}/`, { token: other.owner.token })).status).toBe(404);
    expect((await call('POST', `/api/access-reviews/definitions/${mine.body.id}/start`, { token: other.owner.token })).status).toBe(404);
    expect((await get('/api/access-reviews/definitions/', other.owner.token)).results).toEqual([]);
  });
});

describe('review instances', () => {
  let def: number;
  let first: any;
  let firstItems: any[];

  it('snapshot exactly the grants the API reports at that moment, one item per person × grant', async () => {
    def = (await definition({ title: 'Everything' })).body.id;
    const before = await grantsByApi();
    first = await startAndWait(def);
    firstItems = await items(first.id);
    expect(asLines(firstItems)).toEqual(before);
    expect(first.snapshot).toMatchObject({ items: firstItems.length, people: 7, removed_since_previous: null, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(first.snapshot.completed_at).not.toBeNull();
    // The Deactivated member's workspace membership grants nothing and is not reviewed.
    expect(firstItems.some((i) => i.user_id === m.DI!.userId)).toBe(false);
  });

  it('give each item its reason and flags: privileged, inactive, unexplained, IdP-managed; nobody reviews their own access', async () => {
    const find = (u: Member, grant: string) => firstItems.find((i) => i.user_id === u.userId && i.grant === grant);
    const pad = (n: number) => String(n).padStart(10, '0');
    expect(find(m.MA!, `W#${pad(ws1)}`).reason).toMatchObject({ kind: 'granted', by_user_id: 1, by_email: 'owner@example.com', via: 'api' });
    expect(find(m.RE!, `P#${pad(p2)}`).reason).toMatchObject({ kind: 'granted', by_user_id: m.AD!.userId });
    expect(find(m.AN!, `PR#${pad(p1)}`)).toMatchObject({ role: 'RE', kind: 'project_role', reason: { kind: 'granted', by_user_id: 1 } });
    const unexplained = find(m.AN2!, `W#${pad(ws2)}`);
    expect(unexplained.reason).toEqual({ kind: 'none' });
    expect(unexplained.flags).toEqual(expect.arrayContaining(['unexplained', 'inactive']));
    const idp = find(m.SCIM!, `W#${pad(ws1)}`);
    expect(idp.reason).toMatchObject({ kind: 'idp', source: 'scim', group: 'eng', mapping_status: 'configured' });
    expect(idp.flags).toContain('idp_managed');
    expect(find(m.SCIM!, 'R').flags).toContain('idp_managed');
    for (const i of firstItems) {
      expect(i.flags.includes('privileged')).toBe(['OW', 'AD'].includes(i.organization_role));
      expect(i.flags.includes('new') || i.flags.includes('changed')).toBe(false);
      expect(i.reviewer_ids).not.toContain(i.user_id);
      expect(i.decision).toBe('undecided');
    }
    // Administrators mode: the Owner and the Administrator review, each never themselves.
    expect(find(m.AN!, 'R').reviewer_ids.sort()).toEqual([1, m.AD!.userId].sort());
    expect(find(m.AD!, 'R').reviewer_ids).toEqual([1]);
    // The flag counts are those of the items.
    for (const [flag, n] of Object.entries(first.snapshot.flags)) expect(firstItems.filter((i) => i.flags.includes(flag)).length, flag).toBe(n);
  });

  it('filter items by flag, kind and person', async () => {
    expect(asLines(await items(first.id, 'flag=privileged'))).toEqual(asLines(firstItems.filter((i) => i.flags.includes('privileged'))));
    expect(asLines(await items(first.id, 'flag=inactive,unexplained'))).toEqual(asLines(firstItems.filter((i) => i.flags.includes('inactive') && i.flags.includes('unexplained'))));
    expect(asLines(await items(first.id, 'kind=project_role'))).toEqual(asLines(firstItems.filter((i) => i.kind === 'project_role')));
    expect(asLines(await items(first.id, `user=${m.AN!.userId}`))).toEqual(asLines(firstItems.filter((i) => i.user_id === m.AN!.userId)));
    expect(asLines(await items(first.id, `reviewer=${m.AD!.userId}`))).toEqual(asLines(firstItems.filter((i) => i.reviewer_ids.includes(m.AD!.userId))));
    expect(asLines(await items(first.id, 'decision=undecided'))).toEqual(asLines(firstItems));
    const bad = await call('GET', `/api/access-reviews/instances/${first.id}/items/?flag=odd`, { token: T });
    expect(bad.status).toBe(400);
  });

  it('do not change when access changes after the snapshot, and their SHA-256 still verifies', async () => {
    await call('PATCH', '/api/organizations/1/memberships', { token: T, body: { user_id: m.RE!.userId, role: 'MA' } });
    expect((await call('DELETE', `/api/workspaces/${ws1}/memberships/?user_id=${m.MA!.userId}`, { token: T })).status).toBe(204);
    expect((await call('POST', `/api/workspaces/${ws2}/memberships/`, { token: T, body: { user: m.AN!.userId } })).status).toBe(200);
    expect(await items(first.id)).toEqual(firstItems);
    const digest = await digestSnapshot(db, 1, first.id);
    expect(digest).toMatchObject({ items: first.snapshot.items, bytes: first.snapshot.bytes, sha256: first.snapshot.sha256, flags: first.snapshot.flags });
    expect((await get(`/api/access-reviews/instances/${first.id}/`)).snapshot).toEqual(first.snapshot);
  });

  it('flag exactly what changed in the next instance: new grants, changed roles, and count the removed ones', async () => {
    const now = await grantsByApi();
    const second = await startAndWait(def);
    expect(second.previous_instance).toBe(first.id);
    const secondItems = await items(second.id);
    expect(asLines(secondItems)).toEqual(now);
    const key = (i: any) => `${i.user_id}|${i.grant}`;
    const was = new Map(firstItems.map((i) => [key(i), i]));
    const is = new Set(secondItems.map(key));
    const expectedNew = secondItems.filter((i) => !was.has(key(i))).map(key).sort();
    const expectedChanged = secondItems.filter((i) => was.has(key(i)) && was.get(key(i)).role !== i.role).map(key).sort();
    expect(secondItems.filter((i) => i.flags.includes('new')).map(key).sort()).toEqual(expectedNew);
    expect(secondItems.filter((i) => i.flags.includes('changed')).map(key).sort()).toEqual(expectedChanged);
    // What the test changed: the Reviewer became a Manager, the Annotator joined W2, the Manager left W1.
    const pad = (n: number) => String(n).padStart(10, '0');
    expect(expectedNew).toEqual([`${m.AN!.userId}|W#${pad(ws2)}`]);
    expect(expectedChanged).toEqual([`${m.RE!.userId}|R`]);
    expect(secondItems.find((i) => key(i) === `${m.RE!.userId}|R`).previous).toEqual({ role: 'RE' });
    expect(second.snapshot.removed_since_previous).toBe(firstItems.filter((i) => !is.has(key(i))).length);
    expect(second.snapshot.removed_since_previous).toBe(1);
    expect((await get(`/api/access-reviews/instances/?definition=${def}`)).results.map((i: any) => i.id)).toEqual([second.id, first.id]);
  });

  it('are started once when two starts race (the other is 409)', async () => {
    const d = (await definition({ title: 'Race', scope: { grants: ['organization_role'] } })).body.id;
    const [a, b] = await Promise.all([call('POST', `/api/access-reviews/definitions/${d}/start`, { token: T }), call('POST', `/api/access-reviews/definitions/${d}/start`, { token: T })]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    const done = await opened((a.status === 201 ? a : b).body.id);
    expect((await get(`/api/access-reviews/instances/?definition=${d}`)).count).toBe(1);
    expect(done.snapshot.items).toBe(done.snapshot.people);
  });

  it('cover only the privileged when asked, and give named reviewers only their items (the rest of the instance is not theirs)', async () => {
    const priv = (await definition({ title: 'Admins', scope: { population: 'privileged' } })).body.id;
    const inst = await startAndWait(priv);
    expect(new Set((await items(inst.id)).map((i) => i.organization_role))).toEqual(new Set(['OW', 'AD']));
    const named = (await definition({ title: 'By MA', reviewers: { mode: 'members', user_ids: [m.MA!.userId] } })).body.id;
    const byMa = await startAndWait(named);
    const all = await items(byMa.id);
    const mine = await items(byMa.id, '', m.MA!.token);
    expect(asLines(mine)).toEqual(asLines(all.filter((i) => i.user_id !== m.MA!.userId)));
    for (const i of mine) expect(i.reviewer_ids).toEqual([m.MA!.userId]);
    // The Manager's own items go to the fallback (the Administrators), not to the Manager.
    expect(all.filter((i) => i.user_id === m.MA!.userId).every((i) => !i.reviewer_ids.includes(m.MA!.userId) && i.reviewer_ids.length > 0)).toBe(true);
    expect((await call('GET', `/api/access-reviews/instances/${byMa.id}/items/?reviewer=1`, { token: m.MA!.token })).status).toBe(403);
    expect((await call('GET', `/api/access-reviews/instances/${byMa.id}/items/`, { token: m.AN!.token })).status).toBe(404);
    expect((await call('GET', '/api/access-reviews/instances/', { token: m.MA!.token })).status).toBe(403);
  });

  it('give workspace and project grants to the Managers of that workspace or project, and the rest to the fallback', async () => {
    const d = (await definition({ title: 'Managers', reviewers: { mode: 'managers', fallback_user_ids: [m.AD!.userId] } })).body.id;
    const inst = await startAndWait(d);
    const all = await items(inst.id);
    const pad = (n: number) => String(n).padStart(10, '0');
    const find = (u: Member, grant: string) => all.find((i) => i.user_id === u.userId && i.grant === grant);
    // By now the Reviewer is a Manager and a direct member of P2; W1 has no Manager (the Manager left it).
    expect(find(m.AN2!, `P#${pad(p2)}`).reviewer_ids).toEqual([m.RE!.userId]);
    expect(find(m.RE!, `P#${pad(p2)}`).reviewer_ids).toEqual([m.AD!.userId]);
    expect(find(m.AN!, `W#${pad(ws1)}`).reviewer_ids).toEqual([m.AD!.userId]);
    expect(find(m.AN!, `PR#${pad(p1)}`).reviewer_ids).toEqual([m.AD!.userId]);
    // Organization roles have no workspace: the fallback, and never oneself (the Administrator's own go to the Administrators).
    for (const i of all.filter((x) => x.kind === 'organization_role')) expect(i.reviewer_ids).toEqual(i.user_id === m.AD!.userId ? [1] : [m.AD!.userId]);
  });
});

describe('the review scheduler', () => {
  it('starts a due definition on its own (trigger schedule) and moves its next run on by the frequency', async () => {
    const startAt = new Date(Date.now() - 60_000).toISOString();
    const d = (await definition({ title: 'Monthly', scope: { grants: ['organization_role'] }, schedule: { frequency: 'monthly', start_at: startAt } })).body;
    expect(d.schedule.next_run_at).toBe(startAt);
    const deadline = Date.now() + 60_000;
    let listed: any;
    do {
      await new Promise((res) => setTimeout(res, 300));
      listed = await get(`/api/access-reviews/instances/?definition=${d.id}`);
    } while (!listed.count && Date.now() < deadline);
    expect(listed.count).toBe(1);
    expect(listed.results[0]).toMatchObject({ trigger: 'schedule', started_by: null });
    const after = await get(`/api/access-reviews/definitions/${d.id}/`);
    const next = new Date(startAt);
    next.setUTCMonth(next.getUTCMonth() + 1);
    expect(after.schedule.next_run_at).toBe(next.toISOString());
    await new Promise((res) => setTimeout(res, 1500));
    expect((await get(`/api/access-reviews/instances/?definition=${d.id}`)).count).toBe(1);
  });
});
