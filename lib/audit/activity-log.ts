/**
 * The activity log's store: entries written by the stream consumer (idempotent on the stream
 * record's id) and read by the log and history endpoints, every filter through a key or an index.
 *
 * An entry item: PK `LOG#org`, SK `<time>#<event id>`; GSI1 by actor, GSI2 by project, GSI3 by
 * workspace, GSI4 by history stream, all sorted by the same time-first key.
 */
import { createHash } from 'node:crypto';
import { GetCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Entry } from './activity.js';
import { type Db, batchGet, batchWrite, countAll } from '../core/db.js';
import { nextId } from '../core/ids.js';
import { ForbiddenError, ValidationError } from '../core/errors.js';
import type { Principal } from '../core/model.js';
import { canInOrganization } from '../core/permissions.js';
import { LEGACY_ROLE_SOURCES, lseRoleSource } from '../core/roles.js';
import { type HistoryStream, keys } from '../core/table.js';
import { SKIP_LIMIT, checkPage, invalidPage } from '../core/pagination.js';

export type EntryItem = Omit<Entry, 'history'> & {
  PK: string;
  SK: string;
  id: number;
  state?: string;
  previous_state?: string | null;
  role_source?: string | null;
  expiresAt?: number;
};

/** Organizations' retention settings, kept a minute per consumer instance (a change applies within it, at once where it passes through the same instance). */
const RETENTION_CACHE_MS = 60_000;
const retentionCache = new Map<number, { at: number; days: number | null }>();

/**
 * Store the entries of one batch: one consistent BatchGet reads what the entries need from current
 * state (the organizations' retention, the workspace of projects whose member changed) and whether
 * each entry's key (its time and stream event id) is taken already, one counter update allocates
 * ids for the new ones, and BatchWrites put them. A redelivered record finds its entry and writes
 * nothing; the stream hands a shard's records to one consumer invocation at a time, so no other
 * writer of the same entry runs in between. Returns how many entries were new.
 */
export async function storeEntries(db: Db, entries: Entry[]): Promise<number> {
  if (!entries.length) return 0;
  // A retention change that passes through here applies from the entries after it.
  for (const e of entries) {
    if (e.resource_type === 'organization' && e.after && 'activity_log_retention_days' in e.after) {
      retentionCache.set(e.organization, { at: Date.now(), days: (e.after.activity_log_retention_days as number | null) ?? null });
    }
  }
  const fresh = Date.now() - RETENTION_CACHE_MS;
  const orgs = [...new Set(entries.map((e) => e.organization))].filter((o) => o > 0 && !((retentionCache.get(o)?.at ?? 0) > fresh));
  const projects = [...new Map(entries.filter((e) => e.project && e.workspace === null).map((e) => [`${e.organization}/${e.project}`, e])).values()];
  const entryKey = (e: Entry) => ({ PK: keys.log(e.organization), SK: `${e.at}#${e.event_id}` });
  const items = await batchGet(db, [...orgs.map((o) => keys.organization(o)), ...projects.map((e) => keys.project(e.organization, e.project!)), ...entries.map(entryKey)], true);
  for (const o of orgs) {
    const org = items.find((i) => i.type === 'organization' && i.id === o);
    retentionCache.set(o, { at: Date.now(), days: (org?.activity_log_retention_days as number | null | undefined) ?? null });
  }
  const retention = new Map([...retentionCache].map(([o, c]) => [o, c.days]));
  const workspaceOf = new Map(items.filter((i) => i.type === 'project').map((i) => [`${i.PK}/${i.id}`, (i.workspace as number | null) ?? null]));
  const stored = new Set(items.filter((i) => i.type === 'log').map((i) => `${i.PK}|${i.SK}`));
  const unique = new Map(entries.map((e) => [`${entryKey(e).PK}|${entryKey(e).SK}`, e]));
  const todo = [...unique].filter(([k]) => !stored.has(k)).map(([, e]) => e);
  if (!todo.length) return 0;
  // Ids for the new entries only (a retried batch leaves a gap, never a repeat).
  const first = await nextId(db, 'activity_log', todo.length);
  const puts = todo.map((e, n) => {
    const workspace = e.workspace ?? (e.project ? (workspaceOf.get(`${keys.organization(e.organization).PK}/${e.project}`) ?? null) : null);
    const days = retention.get(e.organization);
    return { PutRequest: { Item: entryItem({ ...e, workspace }, first + n, days ? Math.floor(Date.parse(e.at) / 1000) + days * 86_400 : undefined) } };
  });
  await batchWrite(db, puts, 8);
  return todo.length;
}

export function entryItem(e: Entry, id: number, expiresAt?: number): EntryItem & Record<string, unknown> {
  const { history, ...rest } = e;
  const sk = `${e.at}#${e.event_id}`;
  const org = e.organization;
  return {
    PK: keys.log(org),
    SK: sk,
    type: 'log',
    id,
    ...rest,
    ...(e.actor_id ? { GSI1PK: keys.logByActor(org, e.actor_id), GSI1SK: sk } : {}),
    ...(e.project ? { GSI2PK: keys.logByProject(org, e.project), GSI2SK: sk } : {}),
    ...(e.workspace ? { GSI3PK: keys.logByWorkspace(org, e.workspace), GSI3SK: sk } : {}),
    ...(history
      ? { GSI4PK: keys.history(org, history.stream, history.scope), GSI4SK: sk, state: history.state, previous_state: history.previous_state, role_source: history.role_source }
      : {}),
    ...(expiresAt ? { expiresAt } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface TimeRange {
  from?: string;
  to?: string;
}

/** An ISO-8601 date or date-time as a sort-key bound; a bare end date means the end of that day. */
export function timeBound(value: string | undefined, field: string, end: boolean): string | undefined {
  if (value === undefined || value === '') return undefined;
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const t = Date.parse(dateOnly ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(t)) throw new ValidationError('Validation error', { [field]: ['Enter a valid ISO-8601 date or date-time.'] });
  return new Date(dateOnly && end ? t + 86_400_000 - 1 : t).toISOString();
}

interface Where {
  index?: 'GSI1' | 'GSI2' | 'GSI3' | 'GSI4';
  pk: string;
  range: TimeRange;
  /** Filter conditions over entry attributes (names and values added by the caller). */
  filters: string[];
  names: Record<string, string>;
  values: Record<string, unknown>;
}

function queryInput(db: Db, w: Where, withFilters: boolean, forward: boolean): QueryCommandInput {
  const pkName = w.index ? `${w.index}PK` : 'PK';
  const skName = w.index ? `${w.index}SK` : 'SK';
  // Entries past their retention that TTL has not removed yet are gone already.
  const filters = [...(withFilters ? w.filters : []), '(attribute_not_exists(expiresAt) OR expiresAt > :now)'];
  const names: Record<string, string> = { '#pk': pkName, '#sk': skName, ...(withFilters ? w.names : {}) };
  const values: Record<string, unknown> = {
    ':pk': w.pk,
    ':from': w.range.from ?? '0',
    ':to': `${w.range.to ?? '9999'}#\uffff`,
    ':now': Math.floor(Date.now() / 1000),
    ...(withFilters ? w.values : {}),
  };
  return {
    TableName: db.table,
    ...(w.index ? { IndexName: w.index } : {}),
    KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
    FilterExpression: filters.join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ScanIndexForward: forward,
  };
}

/** Items `offset` to `offset + limit` of a query (skipping reads keys only). */
async function slice(db: Db, input: QueryCommandInput, offset: number, limit: number): Promise<Record<string, unknown>[]> {
  let start: Record<string, unknown> | undefined;
  let skip = offset;
  while (skip > 0) {
    // Keys only (on an index, its keys too: #pk and #sk name them; on the table they are PK and SK).
    const projection = input.IndexName ? 'PK, SK, #pk, #sk' : '#pk, #sk';
    const r = await db.doc.send(new QueryCommand({ ...input, ProjectionExpression: projection, Limit: Math.min(skip, SKIP_LIMIT), ExclusiveStartKey: start }));
    skip -= r.Count ?? 0;
    start = r.LastEvaluatedKey;
    if (!start) return [];
  }
  const out: Record<string, unknown>[] = [];
  do {
    const r = await db.doc.send(new QueryCommand({ ...input, Limit: Math.min(limit - out.length, 1000), ExclusiveStartKey: start }));
    out.push(...(r.Items ?? []));
    start = r.LastEvaluatedKey;
  } while (start && out.length < limit);
  return out;
}

export interface LogQuery {
  user?: number;
  project?: number;
  workspace?: number;
  method?: string;
  start_date?: string;
  end_date?: string;
  search?: string;
  ordering: 'datetime' | '-datetime';
  /** Items to skip: DataTables' `start` (past the end: an empty page). */
  offset: number;
  limit: number;
  /** LSE's page number instead of `offset`: past the last page is 404 "Invalid page.". */
  page?: number;
}

/**
 * Items `offset` to `offset + limit` of a query and the count of its items (the count first when
 * items are skipped, so nothing is read past the end): a page number past the last is LSE's 404.
 */
async function countedSlice(db: Db, input: QueryCommandInput, q: { offset: number; limit: number; page?: number }): Promise<{ items: Record<string, unknown>[]; count: number }> {
  if (q.page !== undefined && (!Number.isSafeInteger(q.page) || q.page < 1)) throw invalidPage();
  const offset = q.page !== undefined ? (q.page - 1) * q.limit : q.offset;
  if (offset === 0) {
    const [items, count] = await Promise.all([slice(db, input, 0, q.limit), countAll(db, input)]);
    return { items, count };
  }
  const count = await countAll(db, input);
  if (q.page !== undefined) checkPage(q.page, q.limit, count);
  return { items: offset < count ? await slice(db, input, offset, q.limit) : [], count };
}

/**
 * "a AND b OR c" (AND binds tighter) as a filter over the request path and the action; each term is a
 * case-sensitive substring.
 */
function searchFilter(search: string, names: Record<string, string>, values: Record<string, unknown>): string | undefined {
  const alternatives = search
    .split(/\s+OR\s+/)
    .map((alt) => alt.split(/\s+AND\s+/).map((t) => t.trim()).filter(Boolean))
    .filter((a) => a.length);
  if (!alternatives.length) return undefined;
  names['#path'] = 'path';
  names['#action'] = 'action';
  let n = 0;
  // DynamoDB refuses redundant parentheses; AND binds tighter than OR, so only the OR needs them.
  const ors = alternatives.map((terms) =>
    terms
      .map((t) => {
        const v = `:q${n++}`;
        values[v] = t;
        return `(contains(#path, ${v}) OR contains(#action, ${v}))`;
      })
      .join(' AND '),
  );
  if (n > 20) throw new ValidationError('Validation error', { search: ['At most 20 search terms.'] });
  return ors.length > 1 ? `(${ors.join(' OR ')})` : ors[0];
}

/**
 * One page of an organization's log. The most selective filter picks the key (project → GSI2,
 * workspace → GSI3, user → GSI1, else the organization's partition), the date range bounds the sort
 * key, and the other filters are evaluated by DynamoDB on that key's items. recordsTotal counts the
 * organization's entries, recordsFiltered the matches (Select=COUNT queries, in parallel with the page).
 */
export async function listEntries(db: Db, p: Principal, q: LogQuery): Promise<{ items: EntryItem[]; total: number; filtered: number }> {
  requireLogReader(p);
  // A project or workspace of another organization is refused, not answered with an empty page.
  await Promise.all([q.project && requireScope(db, p, 'project', q.project), q.workspace && requireScope(db, p, 'workspace', q.workspace)]);
  const orgId = p.orgId;
  const range = { from: timeBound(q.start_date, 'start_date', false), to: timeBound(q.end_date, 'end_date', true) };
  const w: Where = { pk: keys.log(orgId), range, filters: [], names: {}, values: {} };
  const add = (name: string, value: unknown) => {
    w.names[`#${name}`] = name;
    w.values[`:${name}`] = value;
    w.filters.push(`#${name} = :${name}`);
  };
  if (q.project) Object.assign(w, { index: 'GSI2', pk: keys.logByProject(orgId, q.project) });
  else if (q.workspace) Object.assign(w, { index: 'GSI3', pk: keys.logByWorkspace(orgId, q.workspace) });
  else if (q.user) Object.assign(w, { index: 'GSI1', pk: keys.logByActor(orgId, q.user) });
  if (q.project && q.workspace) add('workspace', q.workspace);
  if ((q.project || q.workspace) && q.user) add('actor_id', q.user);
  if (q.method) add('method', q.method);
  if (q.search) {
    const f = searchFilter(q.search, w.names, w.values);
    if (f) w.filters.push(f);
  }
  const forward = q.ordering === 'datetime';
  const narrowed = w.index !== undefined || w.filters.length > 0 || range.from !== undefined || range.to !== undefined;
  const all: Where = { pk: keys.log(orgId), range: {}, filters: [], names: {}, values: {} };
  const [{ items, count: filtered }, total] = await Promise.all([
    countedSlice(db, queryInput(db, w, true, forward), q),
    narrowed ? countAll(db, queryInput(db, all, false, forward)) : undefined,
  ]);
  return { items: items as EntryItem[], filtered, total: total ?? filtered };
}

export interface HistoryQuery {
  since?: string;
  until?: string;
  user_id?: number;
  source?: string;
  ordering: 'created_at' | '-created_at';
  /** LSE's page number (past the last page: 404 "Invalid page.") and page size. */
  page: number;
  pageSize: number;
}

const SCOPE_OF: Record<HistoryStream, 'organization' | 'workspace' | 'project'> = {
  org_membership: 'organization',
  ws_membership: 'workspace',
  project_membership: 'project',
  project_role: 'project',
};

/** One page of a membership or role history (GSI4), newest first unless asked otherwise. */
export async function listHistory(db: Db, p: Principal, stream: HistoryStream, scope: number, q: HistoryQuery): Promise<{ items: EntryItem[]; count: number }> {
  await requireScope(db, p, SCOPE_OF[stream], scope);
  const w: Where = {
    index: 'GSI4',
    pk: keys.history(p.orgId, stream, scope),
    range: { from: timeBound(q.since, 'since', false), to: timeBound(q.until, 'until', true) },
    filters: [],
    names: {},
    values: {},
  };
  if (q.user_id) {
    w.filters.push('subject_user = :user');
    w.values[':user'] = q.user_id;
  }
  if (q.source) {
    // LSE's role sources (manual, saml, scim, api, …) as recorded on the membership (older entries
    // may hold a value Roster used to store, answered as its LSE value), else the change's source.
    const legacy = Object.entries(LEGACY_ROLE_SOURCES).filter(([, lse]) => lse === q.source).map(([old]) => old);
    legacy.forEach((old, i) => (w.values[`:old${i}`] = old));
    w.filters.push(`(role_source IN (${[':src', ...legacy.map((_, i) => `:old${i}`)].join(', ')}) OR #source = :src)`);
    w.names['#source'] = 'source';
    w.values[':src'] = q.source;
  }
  const input = queryInput(db, w, true, q.ordering === 'created_at');
  const { items, count } = await countedSlice(db, input, { offset: 0, limit: q.pageSize, page: q.page });
  return { items: items as EntryItem[], count };
}

/** Whether an organization's log has any entry under this key (a deleted project's history is still its own). */
async function hasEntries(db: Db, index: 'GSI2' | 'GSI3', pk: string): Promise<boolean> {
  const r = await db.doc.send(
    new QueryCommand({ TableName: db.table, IndexName: index, KeyConditionExpression: '#pk = :pk', ExpressionAttributeNames: { '#pk': `${index}PK` }, ExpressionAttributeValues: { ':pk': pk }, Limit: 1 }),
  );
  return (r.Items?.length ?? 0) > 0;
}

/** An entry as the API shows it: LSE's ActivityLog fields, then Roster's own. */
export function entryView(e: EntryItem) {
  return {
    id: e.id,
    datetime: e.at,
    user_id: e.actor_id ?? 0,
    email: e.actor_email ?? '',
    organization_id: e.organization || null,
    project_id: e.project,
    workspace_owner_id: null,
    request_method: e.method ?? '',
    request_url: e.path ?? '',
    response_code: e.status ? String(e.status) : '',
    duration: null,
    ip_address: e.ip,
    user_agent: e.user_agent ?? '',
    http_referer: '',
    user_session: null,
    extra_data: null,
    action: e.action,
    source: e.source,
    resource_type: e.resource_type,
    resource_id: e.resource_id,
    workspace_id: e.workspace,
    subject_user_id: e.subject_user,
    request_id: e.request_id,
    before: e.before,
    after: e.after,
  };
}

// ---------------------------------------------------------------------------------------------
// Who may read

/** The log and its exports and histories are for the organization's Owner and Administrators. */
export function requireLogReader(p: Principal): void {
  if (!canInOrganization(p.role, 'organization.activity_log.view', p.overrides)) throw new ForbiddenError();
}

/**
 * The history of the caller's organization, or of a workspace or project of it: one that exists there now,
 * or one whose log there has entries (a deleted project's history is still readable). Anything
 * else is refused alike, existing elsewhere or not.
 */
async function requireScope(db: Db, p: Principal, kind: 'organization' | 'workspace' | 'project', id: number): Promise<void> {
  requireLogReader(p);
  // An organization's histories are read in it, as in LSE (its active organization).
  if (kind === 'organization') {
    if (id !== p.orgId) throw new ForbiddenError();
    return;
  }
  const key = kind === 'project' ? keys.project(p.orgId, id) : keys.workspace(p.orgId, id);
  const r = await db.doc.send(new GetCommand({ TableName: db.table, Key: key, ProjectionExpression: 'PK' }));
  if (r.Item) return;
  const logged = kind === 'project' ? hasEntries(db, 'GSI2', keys.logByProject(p.orgId, id)) : hasEntries(db, 'GSI3', keys.logByWorkspace(p.orgId, id));
  if (!(await logged)) throw new ForbiddenError();
}

/** LSE's StateModel for a history entry (ids are UUIDs derived from the stream event id). */
export function stateView(e: EntryItem) {
  const h = createHash('sha256').update(e.event_id).digest('hex');
  return {
    id: `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`,
    state: e.state ?? '',
    previous_state: e.previous_state ?? null,
    transition_name: e.action.slice(e.action.indexOf('.') + 1),
    reason: null,
    context_data: {
      user_id: e.subject_user,
      action: e.action,
      source: e.source,
      role_source: lseRoleSource(e.role_source),
      request_id: e.request_id,
      ip_address: e.ip,
      before: e.before,
      after: e.after,
    },
    created_at: e.at,
    triggered_by: e.actor_id ? { id: e.actor_id, email: e.actor_email ?? '' } : null,
  };
}
