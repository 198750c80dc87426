/**
 * An instance's snapshot, taken in slices as the bulk jobs are (lib/access/jobs.ts): the instance
 * item records its phase and cursor; each slice handles the next keys of the phase's range, writes
 * their review items, and moves the instance on, conditional on the phase and cursor it read, so a
 * redelivered stream record writes the same items again and moves nothing. The instance's change
 * brings the next slice. Memory is one slice whatever the organization's size; time is linear.
 *
 * A slice of grants costs one Query of the range, one index Query per person for their newest
 * activity entry (32 at once; `inactive` is measured from it and `last_activity`), then in parallel BatchGets (100 keys each, all at
 * once) of the people's memberships, their IdP assignment records (and the SCIM/SAML settings) and
 * the previous instance's items for the same grants, then BatchWrites of the items (8 at once) and
 * one conditional update.
 */
import { QueryCommand, type QueryCommandOutput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, batchGet, batchWrite, getItem, isConditionFailure } from '../core/db.js';
import { dueIndex } from './runs.js';
import { asMembership } from '../core/items.js';
import type { Membership } from '../core/model.js';
import type { ActiveRole, Role } from '../core/roles.js';
import { idOf, keys, pad } from '../core/table.js';
import { now } from '../core/util.js';
import { storedMappingsOf, stillMapped } from '../federation/mappings.js';
import { samlMappingsOf } from '../federation/saml/settings.js';
import type { AssignmentRecord } from './assignments.js';
import {
  FLAGS,
  type Flag,
  type GrantKind,
  PHASES,
  type Phase,
  type Reason,
  type ReviewInstance,
  type ReviewItem,
  grantId,
  grantOfSk,
  reviewKeys,
  snapshotHasher,
} from './model.js';

/** BatchGet of many keys, 100 a call, the calls in parallel (a slice's reads are independent). */
const readAll = async (db: Db, keyList: { PK: string; SK: string }[]): Promise<Item[]> => {
  const chunks: { PK: string; SK: string }[][] = [];
  for (let i = 0; i < keyList.length; i += 100) chunks.push(keyList.slice(i, i + 100));
  return (await Promise.all(chunks.map((c) => batchGet(db, c, true)))).flat();
};

/** How many of a slice's last-activity Queries run at once. */
const ACTIVITY_PARALLEL = 32;

/**
 * When each person was last active: the later of their `last_activity` and their newest activity
 * entry as actor (a sign-in, or any change they made): one index Query each (GSI1, newest first,
 * one item), a bounded number at once.
 */
async function lastSeen(db: Db, orgId: number, members: Membership[]): Promise<Map<number, string | null>> {
  const out = new Map<number, string | null>();
  const queue = [...members];
  const worker = async () => {
    for (let m = queue.shift(); m; m = queue.shift()) {
      const r = await db.doc.send(
        new QueryCommand({
          TableName: db.table,
          IndexName: 'GSI1',
          KeyConditionExpression: 'GSI1PK = :k',
          ExpressionAttributeValues: { ':k': keys.logByActor(orgId, m.user_id) },
          ScanIndexForward: false,
          Limit: 1,
          ProjectionExpression: '#at',
          ExpressionAttributeNames: { '#at': 'at' },
        }),
      );
      const logged = r.Items?.[0]?.at as string | undefined;
      const own = m.user?.last_activity ?? null;
      out.set(m.user_id, logged && (!own || logged > own) ? logged : own);
    }
  };
  await Promise.all(Array.from({ length: ACTIVITY_PARALLEL }, worker));
  return out;
}

/** Grants per slice. */
export const SLICE = 500;
/** Members per slice of the reviewers phase (keys and three attributes only). */
export const MEMBER_SLICE = 2000;
/** Managers per slice of the managers phase (two index Queries each, in parallel). */
export const MANAGER_SLICE = 25;

type Item = Record<string, unknown>;

const GRANT_PHASES: Partial<Record<Phase, { kind: GrantKind; prefix: string }>> = {
  organization_role: { kind: 'organization_role', prefix: 'MEMBER#' },
  workspace_membership: { kind: 'workspace_membership', prefix: 'WSM#' },
  project_membership: { kind: 'project_membership', prefix: 'PM#' },
  project_role: { kind: 'project_role', prefix: 'PR#' },
};

/** The phase after `phase` that applies to this instance. */
export function nextPhase(inst: Pick<ReviewInstance, 'settings' | 'previous_instance'>, phase: Phase): Phase {
  for (let i = PHASES.indexOf(phase) + 1; i < PHASES.length; i++) {
    const p = PHASES[i]!;
    if (p === 'managers' && inst.settings.reviewers.mode !== 'managers') continue;
    const g = GRANT_PHASES[p];
    if (g && !inst.settings.scope.grants.includes(g.kind)) continue;
    if (p === 'compare' && inst.previous_instance === null) continue;
    return p;
  }
  return 'done';
}

const inPopulation = (inst: ReviewInstance, m: Pick<Membership, 'role' | 'deleted_at'> | undefined): m is Membership =>
  !!m && m.deleted_at === null && m.role !== 'NO' && m.role !== 'DI' && (inst.settings.scope.population === 'all' || m.role === 'OW' || m.role === 'AD');

/** One page of a key range of the organization's partition after `cursor` (an SK; '' from the start). */
async function rangePage(db: Db, orgId: number, prefix: string, cursor: string, limit: number, projection?: string): Promise<{ items: Item[]; last?: string }> {
  const pk = keys.organization(orgId).PK;
  const r: QueryCommandOutput = await db.doc.send(
    new QueryCommand({
      TableName: db.table,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :p)',
      ExpressionAttributeValues: { ':pk': pk, ':p': prefix },
      ...(projection ? { ProjectionExpression: projection, ...(projection.includes('#role') ? { ExpressionAttributeNames: { '#role': 'role' } } : {}) } : {}),
      ExclusiveStartKey: cursor ? { PK: pk, SK: cursor } : undefined,
      Limit: limit,
      ConsistentRead: true,
    }),
  );
  return { items: r.Items ?? [], last: r.LastEvaluatedKey ? (r.LastEvaluatedKey.SK as string) : undefined };
}

/**
 * Move the instance on from the phase and cursor this slice read (a replayed slice loses the
 * condition and changes nothing). `set` and `add` are attribute paths with their values.
 */
async function advance(db: Db, inst: ReviewInstance, to: { phase: Phase; cursor: string }, set: Record<string, unknown> = {}, add: Record<string, number> = {}, append: Record<string, unknown[]> = {}): Promise<void> {
  const names: Record<string, string> = { '#phase': 'phase', '#cursor': 'cursor' };
  const values: Record<string, unknown> = { ':phase': to.phase, ':cursor': to.cursor, ':wasPhase': inst.phase, ':wasCursor': inst.cursor };
  const path = (p: string) =>
    p
      .split('.')
      .map((part) => {
        const n = `#n${Object.keys(names).length}`;
        names[n] = part;
        return n;
      })
      .join('.');
  const sets = ['#phase = :phase', '#cursor = :cursor'];
  let i = 0;
  for (const [p, v] of Object.entries(set)) {
    values[`:s${i}`] = v;
    sets.push(`${path(p)} = :s${i++}`);
  }
  for (const [p, v] of Object.entries(append)) {
    if (!v.length) continue;
    values[`:s${i}`] = v;
    const at = path(p);
    sets.push(`${at} = list_append(${at}, :s${i++})`);
  }
  const adds: string[] = [];
  for (const [p, v] of Object.entries(add)) {
    if (!v) continue;
    values[`:s${i}`] = v;
    adds.push(`${path(p)} :s${i++}`);
  }
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: reviewKeys.instance(inst.organization, inst.id),
        UpdateExpression: `SET ${sets.join(', ')}${adds.length ? ` ADD ${adds.join(', ')}` : ''}`,
        ConditionExpression: '#phase = :wasPhase AND #cursor = :wasCursor',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}

const phaseEnd = (inst: ReviewInstance, last: string | undefined) => (last ? { phase: inst.phase, cursor: last } : { phase: nextPhase(inst, inst.phase), cursor: '' });

/** One slice of an instance's snapshot (the stream consumer calls it for an instance that is building). */
export async function runReviewSlice(db: Db, inst: ReviewInstance): Promise<void> {
  if (inst.status !== 'building') return;
  switch (inst.phase) {
    case 'reviewers':
      return reviewersSlice(db, inst);
    case 'managers':
      return managersSlice(db, inst);
    case 'compare':
      return compareSlice(db, inst);
    case 'hash':
      return hashSlice(db, inst);
    case 'done':
      return finish(db, inst);
    default:
      return grantSlice(db, inst);
  }
}

/** The members: how many people the review covers, who the Owner and Administrators (and Managers) are. */
async function reviewersSlice(db: Db, inst: ReviewInstance): Promise<void> {
  const page = await rangePage(db, inst.organization, 'MEMBER#', inst.cursor, MEMBER_SLICE, 'SK, user_id, #role, deleted_at');
  const live = page.items.filter((m) => m.deleted_at === null);
  const admins = live.filter((m) => m.role === 'OW' || m.role === 'AD').map((m) => m.user_id as number);
  const managers = inst.settings.reviewers.mode === 'managers' ? live.filter((m) => m.role === 'MA').map((m) => m.user_id as number) : [];
  const people = live.filter((m) => inPopulation(inst, m as never)).length;
  await advance(db, inst, phaseEnd(inst, page.last), {}, { 'snapshot.people': people }, { admin_ids: admins, manager_ids: managers });
}

/** Each Manager's workspaces and projects (GSI1: a user's memberships), a few Managers a slice. */
async function managersSlice(db: Db, inst: ReviewInstance): Promise<void> {
  const from = Number(inst.cursor || 0);
  const slice = inst.manager_ids.slice(from, from + MANAGER_SLICE);
  const scopes = await Promise.all(
    slice.map(async (ma) => {
      const q = (prefix: string) =>
        db.doc.send(
          new QueryCommand({
            TableName: db.table,
            IndexName: 'GSI1',
            KeyConditionExpression: 'GSI1PK = :u AND begins_with(GSI1SK, :p)',
            ExpressionAttributeValues: { ':u': `USER#${pad(ma)}`, ':p': `${prefix}${pad(inst.organization)}#` },
            ProjectionExpression: 'GSI1SK',
          }),
        );
      const [ws, pm] = await Promise.all([q('WSM#'), q('PM#')]);
      return [...(ws.Items ?? []).map((i) => `W${idOf(i.GSI1SK as string)}`), ...(pm.Items ?? []).map((i) => `P${idOf(i.GSI1SK as string)}`)];
    }),
  );
  const done = from + MANAGER_SLICE >= inst.manager_ids.length;
  // A list, not a map: DynamoDB Streams images of empty maps do not survive every reader.
  const pairs = slice.flatMap((ma, i) => scopes[i]!.map((s) => `${ma}:${s}`));
  await advance(db, inst, done ? { phase: nextPhase(inst, 'managers'), cursor: '' } : { phase: 'managers', cursor: String(from + MANAGER_SLICE) }, {}, {}, { manager_scopes: pairs });
}

/** A grant as read from its range: whose, where, and the item it came from. */
interface Grant {
  userId: number;
  grant: string;
  workspaceId: number | null;
  projectId: number | null;
  item: Item;
}

function grantsOf(kind: GrantKind, items: Item[]): Grant[] {
  return items.map((i) => {
    const sk = i.SK as string;
    const parts = sk.split('#');
    switch (kind) {
      case 'organization_role':
        return { userId: i.user_id as number, grant: grantId.organization_role(), workspaceId: null, projectId: null, item: i };
      case 'workspace_membership':
        return { userId: Number(parts[2]), grant: grantId.workspace_membership(Number(parts[1])), workspaceId: Number(parts[1]), projectId: null, item: i };
      case 'project_membership':
        return { userId: Number(parts[2]), grant: grantId.project_membership(Number(parts[1])), workspaceId: null, projectId: Number(parts[1]), item: i };
      case 'project_role':
        return { userId: Number(parts[2]), grant: grantId.project_role(Number(parts[1])), workspaceId: null, projectId: Number(parts[1]), item: i };
    }
  });
}

const assignmentKey = (orgId: number, kind: GrantKind, g: Grant) =>
  kind === 'organization_role'
    ? keys.assignment(orgId, g.userId, { kind: 'organization_role' })
    : kind === 'workspace_membership'
      ? keys.assignment(orgId, g.userId, { kind: 'workspace', id: g.workspaceId! })
      : keys.assignment(orgId, g.userId, { kind: 'project', id: g.projectId! });

/** Sources whose writes are explained by a process even without a person (an invitation, an IdP, a review). */
const PROCESS_SOURCES = new Set(['invite', 'scim', 'saml', 'access_review']);

/** Why the grant is there: its IdP assignment record, else who granted it and when, else nothing. */
function reasonOf(kind: GrantKind, g: Grant, record: AssignmentRecord | undefined, settings: Record<string, ReturnType<typeof storedMappingsOf>>): Reason {
  const role = kind === 'project_role' ? (g.item.role as string) : undefined;
  if (record && (kind !== 'project_role' || record.assigned_role === role)) {
    const configured = stillMapped(settings[record.source] ?? settings.scim!, record);
    return { kind: 'idp', source: record.source, group: record.group, assignment_id: record.assignment_id, mapping_status: configured ? 'configured' : 'orphaned' };
  }
  const stamp = (g.item._ctx ?? {}) as { actor_id?: number; actor_email?: string; at?: string; source?: string };
  const addedBy = g.item.added_by as number | null | undefined;
  if (typeof addedBy === 'number' && addedBy !== g.userId) return { kind: 'granted', by_user_id: addedBy, by_email: stamp.actor_id === addedBy ? (stamp.actor_email ?? null) : null, at: (g.item.created_at as string) ?? stamp.at ?? '', via: stamp.source ?? 'api' };
  // A person other than the member last wrote it (a member's own profile edits copy onto their membership, and explain nothing).
  if (typeof stamp.actor_id === 'number' && stamp.actor_id !== g.userId) return { kind: 'granted', by_user_id: stamp.actor_id, by_email: stamp.actor_email ?? null, at: stamp.at ?? '', via: stamp.source ?? 'api' };
  if (stamp.source && PROCESS_SOURCES.has(stamp.source)) return { kind: 'granted', by_user_id: null, by_email: null, at: stamp.at ?? '', via: stamp.source };
  return { kind: 'none' };
}

/** Reviewers of one item: never its subject; Managers of its scope (managers mode), else the named or fallback ones, else the Administrators. */
function reviewersOf(inst: ReviewInstance, g: Grant, scopeManagers: Map<string, number[]>, projectWorkspace: Map<number, number | null>): number[] {
  const not = (ids: number[]) => ids.filter((u) => u !== g.userId);
  const fallback = () => (not(inst.fallback_reviewer_ids).length ? not(inst.fallback_reviewer_ids) : not(inst.admin_ids));
  switch (inst.settings.reviewers.mode) {
    case 'administrators':
      return not(inst.admin_ids);
    case 'members':
      return not(inst.reviewer_ids).length ? not(inst.reviewer_ids) : fallback();
    case 'managers': {
      const scopes: string[] = [];
      if (g.workspaceId !== null) scopes.push(`W${g.workspaceId}`);
      if (g.projectId !== null) {
        scopes.push(`P${g.projectId}`);
        const ws = projectWorkspace.get(g.projectId);
        if (ws) scopes.push(`W${ws}`);
      }
      const found = not([...new Set(scopes.flatMap((s) => scopeManagers.get(s) ?? []))]).sort((a, b) => a - b);
      return found.length ? found : fallback();
    }
  }
}

/** One slice of a grant phase: the next grants of its range, as review items. */
async function grantSlice(db: Db, inst: ReviewInstance): Promise<void> {
  const phase = GRANT_PHASES[inst.phase]!;
  const orgId = inst.organization;
  const page = await rangePage(db, orgId, phase.prefix, inst.cursor, SLICE);
  const all = grantsOf(phase.kind, page.items);
  const userIds = [...new Set(all.map((g) => g.userId))];
  const managersMode = inst.settings.reviewers.mode === 'managers';
  const projectIds = managersMode ? [...new Set(all.map((g) => g.projectId).filter((p): p is number => p !== null))] : [];
  const [memberItems, support, previous] = await Promise.all([
    phase.kind === 'organization_role' ? Promise.resolve(page.items) : readAll(db, userIds.map((u) => keys.membership(orgId, u))),
    readAll(db, [keys.scimSettings(orgId), { PK: keys.organization(orgId).PK, SK: 'SAML' }, ...all.map((g) => assignmentKey(orgId, phase.kind, g)), ...projectIds.map((p) => keys.project(orgId, p))]),
    inst.previous_instance !== null ? readAll(db, all.map((g) => reviewKeys.item(orgId, inst.previous_instance!, g.userId, g.grant))) : Promise.resolve([]),
  ]);
  const members = new Map(memberItems.filter((i) => i.type === 'membership').map((i) => [i.user_id as number, asMembership(i)]));
  const bySk = new Map(support.map((i) => [i.SK as string, i]));
  const settings = { scim: storedMappingsOf(bySk.get('SCIM')), saml: samlMappingsOf(bySk.get('SAML')) };
  const before = new Map(previous.map((i) => [`${idOf(String(i.SK).split('#').slice(0, 3).join('#'))}|${grantOfSk(i.SK as string)}`, i]));
  const projectWorkspace = new Map(support.filter((i) => i.type === 'project').map((i) => [i.id as number, (i.workspace as number | null) ?? null]));
  const scopeManagers = new Map<string, number[]>();
  for (const pair of inst.manager_scopes ?? []) {
    const [ma, scope] = pair.split(':') as [string, string];
    scopeManagers.set(scope, [...(scopeManagers.get(scope) ?? []), Number(ma)]);
  }
  const inactiveBefore = new Date(Date.parse(inst.started_at) - inst.settings.inactivity_days * 86_400_000).toISOString();
  const seen = await lastSeen(db, orgId, [...members.values()].filter((mm) => inPopulation(inst, mm)));

  const out: ReviewItem[] = [];
  for (const g of all) {
    const m = members.get(g.userId);
    if (!inPopulation(inst, m)) continue;
    const record = bySk.get(assignmentKey(orgId, phase.kind, g).SK) as unknown as AssignmentRecord | undefined;
    const reason = reasonOf(phase.kind, g, record, settings);
    const role = (phase.kind === 'organization_role' ? m.role : phase.kind === 'project_role' ? g.item.role : null) as ReviewItem['role'];
    const prev = before.get(`${g.userId}|${g.grant}`);
    const flags = new Set<Flag>();
    if (m.role === 'OW' || m.role === 'AD') flags.add('privileged');
    const active = seen.get(g.userId) ?? null;
    if (!active || active < inactiveBefore) flags.add('inactive');
    if (reason.kind === 'none') flags.add('unexplained');
    if (reason.kind === 'idp') flags.add('idp_managed');
    if (inst.previous_instance !== null && !prev) flags.add('new');
    if (prev && (prev.role ?? null) !== role) flags.add('changed');
    out.push({
      instance: inst.id,
      organization: orgId,
      user_id: g.userId,
      email: m.user.email,
      first_name: m.user.first_name,
      last_name: m.user.last_name,
      kind: phase.kind,
      grant: g.grant,
      workspace_id: g.workspaceId,
      project_id: g.projectId,
      role,
      organization_role: m.role as ActiveRole,
      role_source: (phase.kind === 'project_role' ? (g.item.role_source as string) : (m.role_source as string)) ?? null,
      last_activity: seen.get(g.userId) ?? null,
      reason,
      flags: FLAGS.filter((f) => flags.has(f)),
      previous: prev && flags.has('changed') ? { role: (prev.role as string | null) ?? null } : null,
      reviewer_ids: reviewersOf(inst, g, scopeManagers, projectWorkspace),
      decision: 'undecided',
      justification: null,
      decided_by: null,
      decided_at: null,
      apply_result: null,
      apply_detail: null,
      applied_at: null,
    });
  }
  await batchWrite(db, out.map((i) => ({ PutRequest: { Item: { ...reviewKeys.item(orgId, inst.id, i.user_id, i.grant), type: 'review_item', ...i } } })), 8);
  await advance(db, inst, phaseEnd(inst, page.last));
}

/**
 * Count, flags, size and SHA-256 of an instance's snapshot: its items read in key order, page by
 * page (memory: one page), each hashed as `snapshotRecord`. Verifying a snapshot is calling this again.
 */
export async function digestSnapshot(db: Db, orgId: number, instId: number): Promise<{ items: number; bytes: number; sha256: string; flags: Record<Flag, number> }> {
  const hasher = snapshotHasher();
  const flags = Object.fromEntries(FLAGS.map((f) => [f, 0])) as Record<Flag, number>;
  let items = 0;
  let cursor = '';
  do {
    const page = await rangePage(db, orgId, reviewKeys.itemPrefix(instId), cursor, 1000);
    for (const i of page.items as unknown as ReviewItem[]) {
      hasher.add(i);
      items++;
      for (const f of i.flags) flags[f]++;
    }
    cursor = page.last ?? '';
  } while (cursor);
  return { items, flags, ...hasher.done() };
}

/** The snapshot's totals, from its items (one pass). */
async function hashSlice(db: Db, inst: ReviewInstance): Promise<void> {
  const d = await digestSnapshot(db, inst.organization, inst.id);
  await advance(db, inst, { phase: 'done', cursor: '' }, { 'snapshot.items': d.items, 'snapshot.bytes': d.bytes, 'snapshot.sha256': d.sha256, 'snapshot.flags': d.flags });
}

/** The previous instance's items that this one does not hold: grants removed since. */
async function compareSlice(db: Db, inst: ReviewInstance): Promise<void> {
  const orgId = inst.organization;
  const page = await rangePage(db, orgId, reviewKeys.itemPrefix(inst.previous_instance!), inst.cursor, SLICE, 'SK');
  const mine = page.items.map((i) => {
    const sk = i.SK as string;
    return reviewKeys.item(orgId, inst.id, Number(sk.split('#')[2]), grantOfSk(sk));
  });
  const found = await readAll(db, mine);
  await advance(db, inst, phaseEnd(inst, page.last), {}, { 'snapshot.removed_since_previous': mine.length - found.length });
}

/** The snapshot is complete: the instance opens for decisions. */
async function finish(db: Db, inst: ReviewInstance): Promise<void> {
  const due = dueIndex(inst.organization, inst.id, inst.due_at);
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: reviewKeys.instance(inst.organization, inst.id),
        // Open, and in the due-date index the sweep closes past-due instances from (part B, runs.ts).
        UpdateExpression: 'SET #s = :open, #snap.#done = :at, GSI2PK = :dpk, GSI2SK = :dsk',
        ConditionExpression: '#s = :building AND #phase = :done',
        ExpressionAttributeNames: { '#s': 'status', '#snap': 'snapshot', '#done': 'completed_at', '#phase': 'phase' },
        ExpressionAttributeValues: { ':open': 'open', ':at': now(), ':building': 'building', ':done': 'done', ':dpk': due.GSI2PK, ':dsk': due.GSI2SK },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}

/** The snapshot fields of a new instance. */
export const emptySnapshot = (hasPrevious: boolean): ReviewInstance['snapshot'] => ({
  items: 0,
  people: 0,
  bytes: 0,
  sha256: null,
  completed_at: null,
  flags: Object.fromEntries(FLAGS.map((f) => [f, 0])) as Record<Flag, number>,
  removed_since_previous: hasPrevious ? 0 : null,
});

/** Run an instance's slices here until its snapshot is complete (the benchmark; tests without a stream). */
export async function buildInstance(db: Db, orgId: number, instId: number): Promise<ReviewInstance> {
  for (;;) {
    const inst = (await getItem(db, reviewKeys.instance(orgId, instId))) as ReviewInstance | undefined;
    if (!inst || inst.status !== 'building') return inst!;
    await runReviewSlice(db, inst);
  }
}

export type { Role };
