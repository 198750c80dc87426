/**
 * The activity log end to end: every change made through the API becomes an entry the log API shows
 * within two seconds (written asynchronously by the stream consumer, so every check polls the API),
 * the log's filters and paging, who may read the log and the histories, the membership and role
 * histories, security events (refused credentials, refused requests, sign-ins) and retention.
 *
 * One roster serves the whole file: the sign-in directory (lib/identity/directory.ts) and the authorizer's
 * Cognito verifier (functions/authorizer.ts) are created once per process from the first roster's
 * environment, so a second roster started in the same worker would talk to a stopped cognito-local
 * (every role change answers 500 there). Each describe block makes its own workspaces, projects
 * and users, and the members below are shared.
 */
import { request } from 'node:http';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_EVENTS_PER_MINUTE } from '../../lib/audit/activity.js';
import { type Db, createDb } from '../../lib/core/db.js';
import { keys } from '../../lib/core/table.js';
import { hashToken } from '../../lib/core/util.js';
import { signIn } from '../support/cognito.js';
import { type Member, addMember } from '../support/db.js';
import { lseErrors } from '../support/lse-schema.js';
import { OWNER_TOKEN, type Reply, client, startTestRoster } from '../support/roster.js';

interface Entry {
  id: number;
  datetime: string;
  user_id: number;
  email: string;
  organization_id: number | null;
  project_id: number | null;
  request_method: string;
  request_url: string;
  response_code: string;
  ip_address: string | null;
  action: string;
  source: string;
  resource_type: string;
  resource_id: number | null;
  workspace_id: number | null;
  subject_user_id: number | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}
interface LogPage {
  data: Entry[];
  recordsTotal: number;
  recordsFiltered: number;
}
interface State {
  id: string;
  state: string;
  previous_state: string | null;
  transition_name: string;
  context_data: { user_id: number | null; action: string };
  created_at: string;
  triggered_by: { id: number; email: string } | null;
}
interface HistoryPage {
  count: number;
  next: string | null;
  previous: string | null;
  results: State[];
}
/** How a caller authenticates: a legacy token or an Authorization header (a Cognito JWT). */
type Cred = { token: string } | { headers: Record<string, string> };

/** Entries must be readable this soon after the response of the request that made them. */
const VISIBLE_WITHIN_MS = 2000;
/** How long setup steps wait for entries they depend on. */
const SETTLE_MS = 8000;
const PASSWORD = 'Str0ng-pass!';
const LOCAL_IP = '127.0.0.1';

let roster: Awaited<ReturnType<typeof startTestRoster>>;
let call: ReturnType<typeof client>;
let db: Db;
const owner: Member = { userId: 1, email: 'owner@example.com', token: OWNER_TOKEN };
let admin: Member;
let manager: Member;
let reviewer: Member;
let annotator: Member;

beforeAll(async () => {
  roster = await startTestRoster();
  call = client(roster.url);
  db = createDb(process.env.TABLE_NAME!, roster.dynamodbEndpoint);
  admin = await addMember(db, 1, 'AD', 'admin@example.com');
  manager = await addMember(db, 1, 'MA', 'manager@example.com');
  reviewer = await addMember(db, 1, 'RE', 'reviewer@example.com');
  annotator = await addMember(db, 1, 'AN', 'annotator@example.com');
});
afterAll(() => roster?.stop());

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bearer = (jwt: string): Cred => ({ headers: { authorization: `Bearer ${jwt}` } });
const as = (m: Member): Cred => ({ token: m.token });
const actor = (m: Member) => ({ user_id: m.userId, email: m.email });
const ids = (entries: { id: number }[]) => entries.map((e) => e.id);
const today = () => new Date().toISOString().slice(0, 10);
const dayAfter = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

const logs = (query = '', cred: Cred = as(owner)): Promise<Reply<LogPage>> => call<LogPage>('GET', `/api/activity-logs/?${query}`, cred);
const history = (path: string, cred: Cred = as(owner)): Promise<Reply<HistoryPage>> => call<HistoryPage>('GET', path, cred);

/** A mutating call, with the moment its response arrived. */
async function change(method: string, path: string, cred: Cred, body?: unknown): Promise<Reply & { at: number }> {
  const r = await call(method, path, { ...cred, ...(body === undefined ? {} : { body }) });
  return Object.assign(r, { at: Date.now() });
}

/**
 * Poll the log (every 100 ms, newest first) until an entry matches or `within` ms have passed since
 * `since`; returns the entry (if any) and when it was first seen, in ms after `since`.
 */
async function appears(match: (e: Entry) => boolean, opts: { since?: number; within?: number; query?: string; cred?: Cred } = {}) {
  const since = opts.since ?? Date.now();
  const deadline = since + (opts.within ?? SETTLE_MS);
  for (;;) {
    const r = await logs(`page_size=500&${opts.query ?? ''}`, opts.cred);
    expect(r.status).toBe(200);
    const entry = r.body.data.find(match);
    if (entry || Date.now() > deadline) return { entry, ms: Date.now() - since };
    await pause(100);
  }
}

/** The entry a change made, asserting it was readable within 2 s of the change's response. */
async function logged(since: number, match: (e: Entry) => boolean): Promise<Entry> {
  // Poll a little past the deadline so a late entry is told apart from a missing one.
  const { entry, ms } = await appears(match, { since, within: VISIBLE_WITHIN_MS + 3000 });
  expect(entry, `no matching entry ${ms} ms after the response`).toBeDefined();
  expect(ms, 'readable from GET /api/activity-logs/ within 2 s of the response').toBeLessThanOrEqual(VISIBLE_WITHIN_MS);
  return entry!;
}

/** Wait for an entry a later step depends on, then for the stream to be drained. */
async function settled(match: (e: Entry) => boolean, opts: { query?: string; cred?: Cred } = {}): Promise<Entry> {
  const { entry } = await appears(match, opts);
  expect(entry, 'the entry of a setup step never appeared').toBeDefined();
  const deadline = Date.now() + SETTLE_MS;
  while (!roster.streamIdle() && Date.now() < deadline) await pause(100);
  return entry!;
}

/** Poll until `check` accepts a reply (or the deadline passes); returns the last reply. */
async function until<T>(get: () => Promise<T>, check: (r: T) => boolean, within = SETTLE_MS): Promise<T> {
  const deadline = Date.now() + within;
  for (;;) {
    const r = await get();
    if (check(r) || Date.now() > deadline) return r;
    await pause(100);
  }
}

const is = (action: string, fields: Partial<Entry> = {}) => (e: Entry) =>
  e.action === action && Object.entries(fields).every(([k, v]) => e[k as keyof Entry] === v);

// ---------------------------------------------------------------------------------------------

describe('changes made through the API are readable from the log within 2 seconds', () => {
  let created: number;
  let target: Member;
  let ws: number;
  let project: number;

  beforeAll(async () => {
    target = await addMember(db, 1, 'AN', 'target@example.com');
  });

  it('logs creating a user as user.created and membership.created, with the caller as actor', async () => {
    const r = await change('POST', '/api/users/', as(owner), { email: 'created@example.com' });
    expect(r.status).toBe(201);
    created = r.body.id;
    const request = { ...actor(owner), organization_id: 1, request_method: 'POST', request_url: '/api/users/', ip_address: LOCAL_IP, source: 'api' };
    const user = await logged(r.at, is('user.created', { resource_id: created }));
    expect(user).toMatchObject({ ...request, resource_type: 'user', subject_user_id: created, before: null });
    expect(user.after).toMatchObject({ id: created, email: 'created@example.com' });
    const membership = await logged(r.at, is('membership.created', { resource_id: created }));
    expect(membership).toMatchObject({ ...request, resource_type: 'membership', subject_user_id: created, before: null });
    expect(membership.after).toMatchObject({ user_id: created, organization: 1, role: 'AN' });
  });

  it('logs a role change as membership.role_changed, before {role: AN} and after {role: MA}', async () => {
    const r = await change('PATCH', '/api/organizations/1/memberships', as(owner), { user_id: created, role: 'MA' });
    expect(r.status).toBe(200);
    const e = await logged(r.at, is('membership.role_changed', { resource_id: created }));
    expect(e).toMatchObject({ ...actor(owner), request_method: 'PATCH', request_url: '/api/organizations/1/memberships', ip_address: LOCAL_IP, source: 'api', subject_user_id: created });
    expect(e.before).toEqual({ role: 'AN' });
    expect(e.after).toEqual({ role: 'MA' });
  });

  it('logs creating a workspace as workspace.created, with the new workspace after', async () => {
    const r = await change('POST', '/api/workspaces/', as(admin), { title: 'Logged workspace' });
    expect(r.status).toBe(201);
    ws = r.body.id;
    const e = await logged(r.at, is('workspace.created', { resource_id: ws }));
    expect(e).toMatchObject({ ...actor(admin), request_method: 'POST', request_url: '/api/workspaces/', ip_address: LOCAL_IP, source: 'api', workspace_id: ws, before: null });
    expect(e.after).toMatchObject({ id: ws, title: 'Logged workspace' });
  });

  it('logs adding a workspace member as workspace_membership.added', async () => {
    const r = await change('POST', `/api/workspaces/${ws}/memberships/`, as(owner), { user: created });
    expect(r.status).toBe(200);
    const e = await logged(r.at, is('workspace_membership.added', { workspace_id: ws, subject_user_id: created }));
    expect(e).toMatchObject({ ...actor(owner), request_method: 'POST', request_url: `/api/workspaces/${ws}/memberships/`, ip_address: LOCAL_IP, source: 'api', before: null });
    expect(e.after).toMatchObject({ workspace: ws, user_id: created });
  });

  it('logs creating a project in the workspace as project.created, in that workspace', async () => {
    const r = await change('POST', '/api/projects/', as(owner), { title: 'Logged project', workspace: ws });
    expect(r.status).toBe(201);
    project = r.body.id;
    const e = await logged(r.at, is('project.created', { resource_id: project }));
    expect(e).toMatchObject({ ...actor(owner), request_method: 'POST', request_url: '/api/projects/', ip_address: LOCAL_IP, source: 'api', project_id: project, workspace_id: ws, before: null });
    expect(e.after).toMatchObject({ id: project, title: 'Logged project', workspace: ws });
  });

  it('logs adding a project member, and its removal with the actor of the removal, not of the addition', async () => {
    const add = await change('POST', `/api/projects/${project}/members/`, as(owner), { user: target.userId });
    expect(add.status).toBe(201);
    const added = await logged(add.at, is('project_membership.added', { project_id: project, subject_user_id: target.userId }));
    expect(added).toMatchObject({ ...actor(owner), request_method: 'POST', request_url: `/api/projects/${project}/members/`, ip_address: LOCAL_IP, source: 'api', workspace_id: ws, before: null });
    expect(added.after).toMatchObject({ project, user_id: target.userId });

    // Adding a member again changes nothing, and logs nothing: the removal below is the next entry.
    expect((await change('POST', `/api/projects/${project}/members/`, as(admin), { user: target.userId })).status).toBe(201);

    const remove = await change('DELETE', `/api/projects/${project}/members/?user=${target.userId}`, as(admin));
    expect(remove.status).toBe(204);
    const removed = await logged(remove.at, is('project_membership.removed', { project_id: project, subject_user_id: target.userId }));
    expect(removed).toMatchObject({ ...actor(admin), request_method: 'DELETE', request_url: `/api/projects/${project}/members/`, ip_address: LOCAL_IP, source: 'api', workspace_id: ws, after: null });
    expect(removed.before).toMatchObject({ project, user_id: target.userId });
    const entries = (await logs(`project=${project}&ordering=datetime&page_size=-1`)).body.data.filter((e) => e.subject_user_id === target.userId && e.action.startsWith('project_membership.'));
    expect(entries.map((e) => e.action)).toEqual(['project_membership.added', 'project_membership.removed']);
  });

  it('logs setting a project role as project_role.assigned', async () => {
    const r = await change('POST', '/api/projects/roles/', as(admin), { project, user: target.userId, role: 'RE' });
    expect(r.status).toBe(201);
    const e = await logged(r.at, is('project_role.assigned', { project_id: project, subject_user_id: target.userId }));
    expect(e).toMatchObject({ ...actor(admin), request_method: 'POST', request_url: '/api/projects/roles/', ip_address: LOCAL_IP, source: 'api', resource_id: r.body.id, workspace_id: ws, before: null });
    expect(e.after).toMatchObject({ project, user: target.userId, role: 'RE' });
  });

  it('logs a new organization title as organization.updated, the old title before and the new one after', async () => {
    const old = (await call('GET', '/api/organizations/1', as(owner))).body.title as string;
    const r = await change('PATCH', '/api/organizations/1', as(admin), { title: 'Activity Inc' });
    expect(r.status).toBe(200);
    const e = await logged(r.at, is('organization.updated', { resource_id: 1, user_id: admin.userId }));
    expect(e).toMatchObject({ ...actor(admin), request_method: 'PATCH', request_url: '/api/organizations/1', ip_address: LOCAL_IP, source: 'api' });
    expect(e.before).toEqual({ title: old });
    expect(e.after).toEqual({ title: 'Activity Inc' });
  });

  it('logs a soft delete of a member as membership.deleted', async () => {
    const r = await change('DELETE', `/api/organizations/1/memberships/${created}/`, as(admin));
    expect(r.status).toBe(204);
    const e = await logged(r.at, is('membership.deleted', { resource_id: created }));
    expect(e).toMatchObject({ ...actor(admin), request_method: 'DELETE', request_url: `/api/organizations/1/memberships/${created}/`, ip_address: LOCAL_IP, source: 'api', subject_user_id: created });
    expect(e.before).toEqual({ deleted_at: null });
    expect(e.after).toEqual({ deleted_at: expect.any(String) });
  });

  it('logs resetting one\'s own legacy token as membership.token_reset, and never shows a token or its hash', async () => {
    const resetter = await addMember(db, 1, 'RE', 'resetter@example.com');
    const r = await change('POST', '/api/current-user/reset-token/', as(resetter));
    expect(r.status).toBe(201);
    const fresh = r.body.token as string;
    expect(fresh).toMatch(/^rlt_1_\d+_[0-9a-f]{40}$/);
    const e = await logged(r.at, is('membership.token_reset', { user_id: resetter.userId, request_url: '/api/current-user/reset-token/' }));
    expect(e).toMatchObject({ ...actor(resetter), request_method: 'POST', ip_address: LOCAL_IP, source: 'api', subject_user_id: resetter.userId });
    const all = JSON.stringify((await logs('page_size=-1')).body);
    for (const secret of [fresh, hashToken(fresh), resetter.token, hashToken(resetter.token)]) expect(all).not.toContain(secret);
    expect(JSON.stringify(e)).toContain('[redacted]');
  });

  it('records the status the request answered with as the entry\'s response_code', async () => {
    const made = await change('POST', '/api/workspaces/', as(owner), { title: 'Status codes' });
    expect(made.status).toBe(201);
    const gone = await change('DELETE', `/api/workspaces/${made.body.id}/`, as(owner));
    expect(gone.status).toBe(204);
    expect((await logged(made.at, is('workspace.created', { resource_id: made.body.id }))).response_code).toBe('201');
    expect((await logged(gone.at, is('workspace.deleted', { resource_id: made.body.id }))).response_code).toBe('204');
  });
});

// ---------------------------------------------------------------------------------------------

describe('reading the log: LSE shape, paging, filters, ordering', () => {
  let ws: number;
  let inWs: number;
  let outside: number;
  /** The whole log once the fixture's entries are in, newest first. */
  let all: LogPage;

  beforeAll(async () => {
    ws = (await call('POST', '/api/workspaces/', { ...as(owner), body: { title: 'Filtered' } })).body.id;
    inWs = (await call('POST', '/api/projects/', { ...as(owner), body: { title: 'Filtered inside', workspace: ws } })).body.id;
    outside = (await call('POST', '/api/projects/', { ...as(admin), body: { title: 'Filtered outside', workspace: null } })).body.id;
    await call('POST', `/api/workspaces/${ws}/memberships/`, { ...as(owner), body: { user: reviewer.userId } });
    await call('POST', `/api/projects/${inWs}/members/`, { ...as(admin), body: { user: annotator.userId } });
    await call('POST', '/api/projects/roles/', { ...as(admin), body: { project: inWs, user: annotator.userId, role: 'RE' } });
    await call('DELETE', `/api/projects/${inWs}/members/?user=${annotator.userId}`, as(owner));
    await call('PATCH', `/api/projects/${outside}/`, { ...as(admin), body: { title: 'Filtered outside, renamed' } });
    expect((await call('DELETE', `/api/workspaces/${ws}/memberships/?user_id=${reviewer.userId}`, as(admin))).status).toBe(204);
    await settled(is('workspace_membership.removed', { workspace_id: ws, subject_user_id: reviewer.userId }));
    all = (await logs('page_size=-1')).body;
  });

  const query = async (q: string) => {
    const r = await logs(q);
    expect(r.status, q).toBe(200);
    expect(lseErrors('ActivityLogResponse', r.body), q).toEqual([]);
    return r.body;
  };
  /** A filtered query shows exactly the entries the filter selects, counted in recordsFiltered, against the organization's recordsTotal. */
  const expectFilter = async (q: string, keep: (e: Entry) => boolean) => {
    const page = await query(`page_size=-1&${q}`);
    const expected = all.data.filter(keep);
    expect(ids(page.data), q).toEqual(ids(expected));
    expect(page.recordsFiltered, q).toBe(expected.length);
    expect(page.recordsTotal, q).toBe(all.recordsTotal);
    return page;
  };

  it('answers LSE\'s ActivityLogResponse, counting every entry of the organization when unfiltered', async () => {
    expect(lseErrors('ActivityLogResponse', all)).toEqual([]);
    expect(all.recordsTotal).toBe(all.data.length);
    expect(all.recordsFiltered).toBe(all.recordsTotal);
    expect(all.data.every((e) => e.organization_id === 1)).toBe(true);
    const first = await query('');
    expect(first.data).toHaveLength(Math.min(100, all.recordsTotal)); // the default page size
  });

  it('pages a filtered log alike with page/page_size and DataTables\' start/length, -1 meaning all', async () => {
    const inWorkspace = all.data.filter((e) => e.workspace_id === ws);
    expect(inWorkspace.length).toBeGreaterThanOrEqual(7);
    expect(ids((await query(`workspace=${ws}&page=2&page_size=3`)).data)).toEqual(ids(inWorkspace.slice(3, 6)));
    expect(ids((await query(`workspace=${ws}&start=3&length=3`)).data)).toEqual(ids(inWorkspace.slice(3, 6)));
    expect(ids((await query(`workspace=${ws}&page=3&page_size=3`)).data)).toEqual(ids(inWorkspace.slice(6, 9)));
    expect(ids((await query(`workspace=${ws}&length=-1`)).data)).toEqual(ids(inWorkspace));
    expect(ids((await query(`workspace=${ws}&page_size=-1`)).data)).toEqual(ids(inWorkspace));
  });

  it('pages the whole log alike with page/page_size and start/length, past the first page too', async () => {
    expect(all.data.length).toBeGreaterThan(10);
    const firstPage = await query('page=1&page_size=5');
    expect(ids(firstPage.data)).toEqual(ids(all.data.slice(0, 5)));
    expect(ids((await query('start=0&length=5')).data)).toEqual(ids(firstPage.data));
    const second = await query('page=2&page_size=5');
    expect(ids(second.data)).toEqual(ids(all.data.slice(5, 10)));
    expect(ids((await query('start=5&length=5')).data)).toEqual(ids(second.data));
    expect(second).toMatchObject({ recordsTotal: all.recordsTotal, recordsFiltered: all.recordsTotal });
    // A filter that keeps to the organization's partition pages the same way.
    const deletes = all.data.filter((e) => e.request_method === 'DELETE');
    expect(ids((await query('method=DELETE&start=1&length=2')).data)).toEqual(ids(deletes.slice(1, 3)));
  });

  it('filters by the acting user', async () => {
    const page = await expectFilter(`user=${admin.userId}`, (e) => e.user_id === admin.userId);
    expect(page.data.map((e) => e.action)).toEqual(expect.arrayContaining(['project.created', 'project_membership.added', 'project_role.assigned', 'project.updated', 'workspace_membership.removed']));
    expect(page.recordsFiltered).toBeLessThan(page.recordsTotal);
  });

  it('filters by project', async () => {
    const page = await expectFilter(`project=${inWs}`, (e) => e.project_id === inWs);
    expect(page.data.map((e) => e.action).sort()).toEqual(['project.created', 'project_membership.added', 'project_membership.removed', 'project_role.assigned']);
  });

  it('filters by workspace: the workspace\'s own entries and those of its projects, member changes included', async () => {
    const page = await expectFilter(`workspace=${ws}`, (e) => e.workspace_id === ws);
    const actions = page.data.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['workspace.created', 'workspace_membership.added', 'workspace_membership.removed', 'project.created', 'project_membership.added', 'project_membership.removed', 'project_role.assigned']));
    expect(page.data.some((e) => e.project_id === outside)).toBe(false);
    expect(page.data.filter((e) => e.project_id === inWs)).toHaveLength(4);
  });

  it('combines filters (workspace and user)', async () => {
    const page = await expectFilter(`workspace=${ws}&user=${admin.userId}`, (e) => e.workspace_id === ws && e.user_id === admin.userId);
    expect(page.data.map((e) => e.action).sort()).toEqual(['project_membership.added', 'project_role.assigned', 'workspace_membership.removed']);
  });

  it('filters by HTTP method, "all" meaning any', async () => {
    const deletes = await expectFilter('method=DELETE', (e) => e.request_method === 'DELETE');
    expect(deletes.data.length).toBeGreaterThan(0);
    await expectFilter('method=PATCH', (e) => e.request_method === 'PATCH');
    await expectFilter('method=all', () => true);
    expect((await logs('method=BREW')).status).toBe(400);
  });

  it('filters by start_date and end_date, as dates (whole days) or date-times (inclusive)', async () => {
    const day = all.data[0]!.datetime.slice(0, 10);
    const first = all.data.at(-1)!.datetime.slice(0, 10);
    await expectFilter(`start_date=${first}&end_date=${day}`, () => true);
    await expectFilter(`start_date=${day}&end_date=${day}`, (e) => e.datetime.slice(0, 10) === day);
    expect((await query(`end_date=${dayAfter(first, -1)}`)).recordsFiltered).toBe(0);
    expect((await query(`start_date=${dayAfter(day, 1)}`)).recordsFiltered).toBe(0);

    const pivot = all.data.find(is('project_role.assigned', { project_id: inWs }))!.datetime;
    const at = encodeURIComponent(pivot);
    await expectFilter(`start_date=${at}`, (e) => e.datetime >= pivot);
    await expectFilter(`end_date=${at}`, (e) => e.datetime <= pivot);
    const exactly = await expectFilter(`start_date=${at}&end_date=${at}`, (e) => e.datetime === pivot);
    expect(exactly.data.map((e) => e.action)).toContain('project_role.assigned');
    // The same instant written with another offset.
    const shifted = new Date(Date.parse(pivot) + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    await expectFilter(`start_date=${encodeURIComponent(shifted)}`, (e) => e.datetime >= pivot);
  });

  it('searches the request path for a substring, "a AND b" and "a OR b"', async () => {
    const members = `/api/projects/${inWs}/members/`;
    const one = await expectFilter(`search=${encodeURIComponent(members)}`, (e) => e.request_url.includes(members));
    expect(one.data.map((e) => e.action).sort()).toEqual(['project_membership.added', 'project_membership.removed']);
    await expectFilter(`search=${encodeURIComponent(`/api/projects/${inWs} AND /members`)}`, (e) => e.request_url.includes(`/api/projects/${inWs}`) && e.request_url.includes('/members'));
    const either = await expectFilter(`search=${encodeURIComponent(`/api/workspaces/${ws}/ OR /api/projects/roles/`)}`, (e) => e.request_url.includes(`/api/workspaces/${ws}/`) || e.request_url.includes('/api/projects/roles/'));
    expect(new Set(either.data.map((e) => e.action))).toEqual(new Set(['workspace_membership.added', 'workspace_membership.removed', 'project_role.assigned']));
    expect((await query(`search=${encodeURIComponent('/no/such/path')}`)).recordsFiltered).toBe(0);
  });

  it('orders newest first by default, or oldest first with ordering=datetime', async () => {
    const down = (await query(`workspace=${ws}&ordering=-datetime`)).data;
    const up = (await query(`workspace=${ws}&ordering=datetime`)).data;
    expect(ids(up)).toEqual(ids(down).reverse());
    expect(ids((await query(`workspace=${ws}`)).data)).toEqual(ids(down));
    const times = up.map((e) => e.datetime);
    expect(times).toEqual([...times].sort());
    expect(all.data.map((e) => e.datetime)).toEqual(all.data.map((e) => e.datetime).sort().reverse());
  });

  it('answers a date it cannot read with 400 {detail}', async () => {
    for (const q of ['start_date=yesterday', 'end_date=2024-13-45', `start_date=${encodeURIComponent('2024-01-01T25:00:00Z')}`]) {
      const r = await call('GET', `/api/activity-logs/?${q}`, as(owner));
      expect(r.status, q).toBe(400);
      expect(typeof r.body.detail, q).toBe('string');
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('who may read the log, its exports and the histories', () => {
  let ws: number;
  let project: number;
  let exportId: string;
  let otherOrg: number;
  let otherOwner: Cred;
  let otherAdmin: Cred;

  const endpoints = (): [string, string][] => [
    ['GET', '/api/activity-logs/'],
    ['POST', '/api/activity-logs/export'],
    ['GET', `/api/activity-logs/exports/${exportId}`],
    ['GET', `/api/activity-logs/verify?start_date=${today()}&end_date=${today()}`],
    ['GET', '/api/fsm/organizations/1/membership-history/'],
    ['GET', `/api/fsm/workspaces/${ws}/membership-history/`],
    ['GET', `/api/fsm/projects/${project}/membership-history/`],
    ['GET', `/api/fsm/projects/${project}/role-history/`],
  ];
  const ask = (method: string, path: string, cred?: Cred) => call(method, path, { ...cred, ...(method === 'POST' ? { body: { format: 'ndjson' } } : {}) });

  beforeAll(async () => {
    // The Manager's own workspace and project: managing them does not make the log theirs.
    ws = (await call('POST', '/api/workspaces/', { ...as(manager), body: { title: 'Managed' } })).body.id;
    project = (await call('POST', '/api/projects/', { ...as(manager), body: { title: 'Managed project', workspace: ws } })).body.id;
    const started = await call('POST', '/api/activity-logs/export', { ...as(owner), body: { format: 'ndjson' } });
    expect(started.status).toBe(202);
    exportId = started.body.id;

    // Another organization, founded through the API by a user who signs in, with an Administrator.
    await call('POST', '/api/users/', { ...as(owner), body: { email: 'founder@example.com', password: PASSWORD } });
    otherOwner = bearer(await signIn(roster.cognito, 'founder@example.com', PASSWORD));
    const org = await call('POST', '/api/organizations/', { ...otherOwner, body: { title: 'Elsewhere' } });
    expect(org.status).toBe(201);
    otherOrg = org.body.id;
    expect((await call('PATCH', '/api/current-user', { ...otherOwner, body: { active_organization: otherOrg } })).status).toBe(200);
    const otherAdminUser = await call('POST', '/api/users/', { ...otherOwner, body: { email: 'other-admin@example.com', password: PASSWORD } });
    expect(otherAdminUser.status).toBe(201);
    expect((await call('PATCH', `/api/organizations/${otherOrg}/memberships`, { ...otherOwner, body: { user_id: otherAdminUser.body.id, role: 'AD' } })).status).toBe(200);
    otherAdmin = bearer(await signIn(roster.cognito, 'other-admin@example.com', PASSWORD));
    for (const [cred, role] of [[otherOwner, 'OW'], [otherAdmin, 'AD']] as const) {
      expect((await call('GET', '/api/current-user/whoami', cred)).body).toMatchObject({ active_organization: otherOrg, organization_membership: { role } });
    }
    // The histories above must be readable by this organization's admins before refusals mean anything.
    await settled(is('project.created', { resource_id: project }));
  });

  it('answers 403 to Managers, Reviewers and Annotators on every log endpoint', async () => {
    for (const m of [manager, reviewer, annotator]) {
      for (const [method, path] of endpoints()) {
        const r = await ask(method, path, as(m));
        expect(r.status, `${method} ${path} as ${m.email}`).toBe(403);
        expect(typeof r.body.detail).toBe('string');
      }
    }
  });

  it('answers 401 without credentials on every log endpoint', async () => {
    for (const [method, path] of endpoints()) {
      const r = await ask(method, path);
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(typeof r.body.detail).toBe('string');
    }
  });

  it('answers the Owner and Administrators of the organization (200, and 202 for a new export)', async () => {
    for (const m of [owner, admin]) {
      for (const [method, path] of endpoints()) {
        const r = await ask(method, path, as(m));
        expect(r.status, `${method} ${path} as ${m.email}`).toBe(method === 'POST' ? 202 : 200);
      }
    }
  });

  it('answers 403 to an Owner or Administrator of another organization for this organization\'s export and histories', async () => {
    const foreign = endpoints().filter(([, path]) => /\/exports\/|\/fsm\//.test(path));
    expect(foreign).toHaveLength(5);
    for (const [who, cred] of [['other Owner', otherOwner], ['other Administrator', otherAdmin]] as const) {
      for (const [method, path] of foreign) {
        const r = await ask(method, path, cred);
        expect(r.status, `${method} ${path} as ${who}`).toBe(403);
      }
    }
  });

  it('shows an Owner or Administrator of another organization only their own organization\'s log', async () => {
    for (const cred of [otherOwner, otherAdmin]) {
      const page = await logs('page_size=-1', cred);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeGreaterThan(0);
      expect(page.body.data.every((e) => e.organization_id === otherOrg)).toBe(true);
      expect((await call('POST', '/api/activity-logs/export', { ...cred, body: {} })).body).toMatchObject({ organization: otherOrg });
      expect((await call('GET', `/api/activity-logs/verify?start_date=${today()}&end_date=${today()}`, cred)).status).toBe(200);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('membership and role histories', () => {
  let member: number;
  let ws: number;
  let project: number;
  let roleId: number;
  let reviewerOnProject: Member;

  beforeAll(async () => {
    reviewerOnProject = await addMember(db, 1, 'AN', 'history-an@example.com');
    member = (await call('POST', '/api/users/', { ...as(owner), body: { email: 'history@example.com' } })).body.id;
    await call('PATCH', '/api/organizations/1/memberships', { ...as(owner), body: { user_id: member, role: 'MA' } });
    await call('DELETE', `/api/organizations/1/memberships/${member}/`, as(admin));
    ws = (await call('POST', '/api/workspaces/', { ...as(owner), body: { title: 'History' } })).body.id;
    await call('POST', `/api/workspaces/${ws}/memberships/`, { ...as(owner), body: { user: annotator.userId } });
    await call('DELETE', `/api/workspaces/${ws}/memberships/?user_id=${annotator.userId}`, as(admin));
    project = (await call('POST', '/api/projects/', { ...as(owner), body: { title: 'History project', workspace: null } })).body.id;
    await call('POST', `/api/projects/${project}/members/`, { ...as(owner), body: { user: reviewerOnProject.userId } });
    await call('POST', `/api/projects/${project}/members/`, { ...as(owner), body: { user: annotator.userId } });
    roleId = (await call('POST', '/api/projects/roles/', { ...as(owner), body: { project, user: reviewerOnProject.userId, role: 'RE' } })).body.id;
    await call('POST', '/api/projects/roles/', { ...as(owner), body: { project, user: annotator.userId, role: 'RE' } });
    expect((await call('DELETE', `/api/projects/roles/${roleId}/`, as(admin))).status).toBe(204);
    await settled(is('project_role.removed', { project_id: project, subject_user_id: reviewerOnProject.userId }));
  });

  const read = async (path: string, cred: Cred = as(owner)) => {
    const r = await history(path, cred);
    expect(r.status, path).toBe(200);
    expect(lseErrors('PaginatedStateModelList', r.body), path).toEqual([]);
    return r.body;
  };

  it('shows a member\'s creation, role change and deletion with role codes, previous states and who did it', async () => {
    const page = await read(`/api/fsm/organizations/1/membership-history/?user_id=${member}`);
    expect(page.count).toBe(3);
    expect(page.results.map((s) => [s.transition_name, s.previous_state, s.state])).toEqual([
      ['deleted', 'MA', 'DELETED'],
      ['role_changed', 'AN', 'MA'],
      ['created', null, 'AN'],
    ]);
    expect(page.results.map((s) => s.triggered_by)).toEqual([
      { id: admin.userId, email: admin.email },
      { id: owner.userId, email: owner.email },
      { id: owner.userId, email: owner.email },
    ]);
    expect(page.results.every((s) => s.context_data.user_id === member)).toBe(true);
    const up = await read(`/api/fsm/organizations/1/membership-history/?user_id=${member}&ordering=created_at`);
    expect(up.results.map((s) => s.id)).toEqual(page.results.map((s) => s.id).reverse());
  });

  it('filters a history to one user, and pages it with next and previous links', async () => {
    const everyone = await read('/api/fsm/organizations/1/membership-history/?page_size=1000');
    expect(new Set(everyone.results.map((s) => s.context_data.user_id)).size).toBeGreaterThan(1);
    expect(everyone.results.filter((s) => s.context_data.user_id === member)).toHaveLength(3);
    const first = await read(`/api/fsm/organizations/1/membership-history/?user_id=${member}&page_size=2`);
    expect(first).toMatchObject({ count: 3, previous: null });
    expect(first.results).toHaveLength(2);
    expect(first.next).toEqual(expect.any(String));
    const second = await read(first.next!.slice(roster.url.length));
    expect(second.results.map((s) => s.transition_name)).toEqual(['created']);
    expect(second.next).toBeNull();
    expect(second.previous).toEqual(expect.any(String));
  });

  it('bounds a history by since and until', async () => {
    const [deleted, changed, createdState] = (await read(`/api/fsm/organizations/1/membership-history/?user_id=${member}`)).results;
    const since = await read(`/api/fsm/organizations/1/membership-history/?user_id=${member}&since=${encodeURIComponent(changed!.created_at)}`);
    expect(since.results.map((s) => s.id)).toEqual([deleted!.id, changed!.id]);
    const until = await read(`/api/fsm/organizations/1/membership-history/?user_id=${member}&until=${encodeURIComponent(changed!.created_at)}`);
    expect(until.results.map((s) => s.id)).toEqual([changed!.id, createdState!.id]);
    const both = await read(`/api/fsm/organizations/1/membership-history/?user_id=${member}&since=${encodeURIComponent(changed!.created_at)}&until=${encodeURIComponent(changed!.created_at)}`);
    expect(both.results.map((s) => s.id)).toEqual([changed!.id]);
    const later = await read(`/api/fsm/organizations/1/membership-history/?user_id=${member}&since=${dayAfter(today(), 1)}`);
    expect(later.count).toBe(0);
    expect((await history('/api/fsm/organizations/1/membership-history/?since=not-a-date')).status).toBe(400);
  });

  it('shows a workspace\'s members joining and leaving', async () => {
    const page = await read(`/api/fsm/workspaces/${ws}/membership-history/?user_id=${annotator.userId}`);
    expect(page.results.map((s) => [s.transition_name, s.previous_state, s.state, s.triggered_by?.id])).toEqual([
      ['removed', 'MEMBER', 'REMOVED', admin.userId],
      ['added', null, 'MEMBER', owner.userId],
    ]);
  });

  it('shows a project role set with POST /api/projects/roles/ and removed with DELETE /api/projects/roles/{id}/', async () => {
    const page = await read(`/api/fsm/projects/${project}/role-history/`);
    expect(page.count).toBe(3);
    const mine = await read(`/api/fsm/projects/${project}/role-history/?user_id=${reviewerOnProject.userId}`);
    expect(mine.results.map((s) => [s.transition_name, s.previous_state, s.state, s.triggered_by])).toEqual([
      ['removed', 'RE', 'REMOVED', { id: admin.userId, email: admin.email }],
      ['assigned', null, 'RE', { id: owner.userId, email: owner.email }],
    ]);
    const theirs = await read(`/api/fsm/projects/${project}/role-history/?user_id=${annotator.userId}`);
    expect(theirs.results.map((s) => [s.transition_name, s.state])).toEqual([['assigned', 'RE']]);
  });

  it('keeps a deleted project\'s history readable by the organization\'s Administrators, and no one else\'s', async () => {
    const doomed = (await call('POST', '/api/projects/', { ...as(owner), body: { title: 'Doomed', workspace: null } })).body.id as number;
    await call('POST', `/api/projects/${doomed}/members/`, { ...as(owner), body: { user: annotator.userId } });
    expect((await call('DELETE', `/api/projects/${doomed}/`, as(owner))).status).toBe(204);
    await settled(is('project.deleted', { resource_id: doomed }));
    expect((await call('GET', `/api/projects/${doomed}/`, as(owner))).status).toBe(404);
    const page = await read(`/api/fsm/projects/${doomed}/membership-history/`, as(admin));
    expect(page.results.find((s) => s.transition_name === 'added')).toMatchObject({ state: 'MEMBER', context_data: { user_id: annotator.userId }, triggered_by: { id: owner.userId } });
    expect((await history(`/api/fsm/projects/${doomed}/role-history/`, as(admin))).status).toBe(200);
    expect((await history(`/api/fsm/projects/${doomed}/membership-history/`, as(manager))).status).toBe(403);
    // A project that never existed is refused alike.
    expect((await history('/api/fsm/projects/987654/membership-history/', as(admin))).status).toBe(403);
  });
});

// ---------------------------------------------------------------------------------------------

describe('security events', () => {
  let address = 10;
  /** Each flood comes from an address of its own (127.0.0.x), so it has the per-address budget to itself. */
  const nextAddress = () => `127.0.0.${address++}`;
  const minute = () => new Date().toISOString().slice(0, 16);

  /** One request from a given local address (the gateway takes the socket's address as the source IP). */
  const requestFrom = (localAddress: string, method: string, path: string, token: string) =>
    new Promise<number>((resolve, reject) => {
      const url = new URL(path, roster.url);
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method, localAddress, agent: false, headers: { authorization: `Token ${token}` } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end();
    });

  /** 30 refused requests from one new address, all inside one clock minute (tried again from another address if a minute turned). */
  const flood = async (path: string, token: string) => {
    for (let attempt = 1; ; attempt++) {
      const ip = nextAddress();
      const started = minute();
      const statuses = await Promise.all(Array.from({ length: 30 }, () => requestFrom(ip, 'GET', path, token)));
      if (minute() === started || attempt === 3) return { ip, statuses };
    }
  };

  it('records a deactivated member\'s refused token in their organization\'s log, at most SECURITY_EVENTS_PER_MINUTE a minute plus one auth.failed_rate_limited', async () => {
    const gone = await addMember(db, 1, 'AN', 'deactivated@example.com');
    expect((await call('GET', '/api/current-user/whoami', as(gone))).status).toBe(200);
    expect((await call('PATCH', '/api/organizations/1/memberships', { ...as(owner), body: { user_id: gone.userId, role: 'DI' } })).status).toBe(200);
    const { ip, statuses } = await flood('/api/current-user/whoami', gone.token);
    expect(statuses.every((s) => s === 401)).toBe(true);
    await settled(is('auth.failed_rate_limited', { ip_address: ip }), { query: `user=${gone.userId}` });
    const mine = (await logs(`user=${gone.userId}&page_size=-1`)).body.data.filter((e) => e.ip_address === ip);
    const failed = mine.filter((e) => e.action === 'auth.failed');
    const limited = mine.filter((e) => e.action === 'auth.failed_rate_limited');
    expect(failed).toHaveLength(SECURITY_EVENTS_PER_MINUTE);
    expect(limited).toHaveLength(1);
    expect(mine).toHaveLength(SECURITY_EVENTS_PER_MINUTE + 1);
    for (const e of mine) {
      expect(e).toMatchObject({ user_id: gone.userId, email: 'deactivated@example.com', organization_id: 1, request_method: 'GET', request_url: '/api/current-user/whoami', response_code: '401', source: 'api', resource_type: 'security' });
    }
    expect(failed[0]!.after).toEqual({ detail: 'User inactive or deleted.' });
    expect(limited[0]!.after).toEqual({ detail: expect.stringContaining(String(SECURITY_EVENTS_PER_MINUTE)) });
  });

  it('records a nonsense token under no organization (organization 0), with the same limit, and never in an organization\'s log', async () => {
    const { ip, statuses } = await flood('/api/users/', 'nonsense');
    expect(statuses.every((s) => s === 401)).toBe(true);
    // Organization 0 has no API: its entries are read from the table; organization 1's only through the API.
    const orgZero = async () => {
      const r = await db.doc.send(
        new QueryCommand({ TableName: db.table, KeyConditionExpression: 'PK = :pk', FilterExpression: 'ip = :ip', ExpressionAttributeValues: { ':pk': keys.log(0), ':ip': ip }, ConsistentRead: true }),
      );
      return (r.Items ?? []) as { action: string; organization: number }[];
    };
    await until(orgZero, (items) => items.some((i) => i.action === 'auth.failed_rate_limited'));
    const deadline = Date.now() + SETTLE_MS;
    while (!roster.streamIdle() && Date.now() < deadline) await pause(100);
    const items = await orgZero();
    expect(items.filter((i) => i.action === 'auth.failed')).toHaveLength(SECURITY_EVENTS_PER_MINUTE);
    expect(items.filter((i) => i.action === 'auth.failed_rate_limited')).toHaveLength(1);
    expect(items.every((i) => i.organization === 0)).toBe(true);
    expect((await logs('page_size=-1')).body.data.filter((e) => e.ip_address === ip)).toEqual([]);
  });

  it('records a refused request (403) as auth.forbidden with the caller as actor and response_code 403', async () => {
    const refused = await addMember(db, 1, 'AN', 'refused@example.com');
    const r = await change('PATCH', '/api/organizations/1', as(refused), { title: 'Mine now' });
    expect(r.status).toBe(403);
    const e = await logged(r.at, is('auth.forbidden', { user_id: refused.userId }));
    expect(e).toMatchObject({ ...actor(refused), organization_id: 1, request_method: 'PATCH', request_url: '/api/organizations/1', response_code: '403', ip_address: LOCAL_IP, source: 'api' });
    expect(e.after).toEqual({ detail: expect.any(String) });
    expect((await call('GET', '/api/organizations/1', as(owner))).body.title).not.toBe('Mine now');
  });

  it('records the first use of a Cognito session as one auth.sign_in, and a new session as another', async () => {
    const user = (await call('POST', '/api/users/', { ...as(owner), body: { email: 'signs-in@example.com', password: PASSWORD } })).body.id as number;
    const session = bearer(await signIn(roster.cognito, 'signs-in@example.com', PASSWORD));
    const first = await change('GET', '/api/current-user/whoami', session);
    expect(first.status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await call('GET', '/api/current-user', session)).status).toBe(200);
    const e = await logged(first.at, is('auth.sign_in', { user_id: user }));
    expect(e).toMatchObject({ email: 'signs-in@example.com', organization_id: 1, request_method: 'GET', request_url: '/api/current-user/whoami', ip_address: LOCAL_IP });
    const again = bearer(await signIn(roster.cognito, 'signs-in@example.com', PASSWORD));
    expect((await call('GET', '/api/current-user', again)).status).toBe(200);
    const signIns = await until(
      async () => (await logs(`user=${user}&page_size=-1`)).body.data.filter((x) => x.action === 'auth.sign_in'),
      (found) => found.length >= 2,
    );
    expect(signIns).toHaveLength(2);
  });
});

// ---------------------------------------------------------------------------------------------

describe('retention', () => {
  it('takes activity_log_retention_days of 1 or more, shows it, and refuses 0', async () => {
    const set = await change('PATCH', '/api/organizations/1', as(owner), { activity_log_retention_days: 1 });
    expect(set.status).toBe(200);
    expect(set.body.activity_log_retention_days).toBe(1);
    expect((await call('GET', '/api/organizations/1', as(owner))).body.activity_log_retention_days).toBe(1);
    const e = await logged(set.at, is('organization.updated', { resource_id: 1, user_id: owner.userId }));
    expect(e.after).toEqual({ activity_log_retention_days: 1 });

    for (const bad of [0, -1, 1.5, '7']) {
      const r = await call('PATCH', '/api/organizations/1', { ...as(owner), body: { activity_log_retention_days: bad } });
      expect(r.status, String(bad)).toBe(400);
      expect(typeof r.body.detail).toBe('string');
    }
    expect((await call('GET', '/api/organizations/1', as(owner))).body.activity_log_retention_days).toBe(1);
    expect((await call('PATCH', '/api/organizations/1', { ...as(annotator), body: { activity_log_retention_days: 3650 } })).status).toBe(403);
    // An entry written under the retention expires (TTL) a day after its time, and is still readable.
    const later = await change('PATCH', '/api/organizations/1', as(owner), { title: 'Retained' });
    const entry = await logged(later.at, (e) => is('organization.updated', { resource_id: 1, user_id: owner.userId })(e) && JSON.stringify(e.after) === '{"title":"Retained"}');
    const item = (
      await db.doc.send(new QueryCommand({ TableName: db.table, KeyConditionExpression: 'PK = :pk AND begins_with(SK, :at)', ExpressionAttributeValues: { ':pk': keys.log(1), ':at': entry.datetime } }))
    ).Items!.find((i) => i.id === entry.id)!;
    expect(item.expiresAt).toBe(Math.floor(Date.parse(entry.datetime) / 1000) + 86_400);
    const cleared = await call('PATCH', '/api/organizations/1', { ...as(owner), body: { activity_log_retention_days: null } });
    expect(cleared).toMatchObject({ status: 200, body: { activity_log_retention_days: null } });
  });
});
