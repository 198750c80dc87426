/**
 * Bulk membership changes. Up to 99 targets change in one transaction, answered at once; larger
 * ones become a job item that the table's stream consumer carries out in slices: each slice writes
 * its progress back to the job, and that change brings the next slice, so a job of any size fits
 * the consumer's time limit. Writes are idempotent puts and deletes, and a slice only moves the job
 * forward from the cursor it read, so a redelivered stream batch never double-counts.
 */
import { randomUUID } from 'node:crypto';
import { QueryCommand, type QueryCommandOutput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { changeContext, withChangeContext } from '../core/context.js';
import { type Db, getItem, batchGet, batchWrite, cancellationReasons, isConditionFailure, transactWrite } from '../core/db.js';
import { NotFoundError } from '../core/errors.js';
import { asMembership, projectMemberItem, workspaceMemberItem } from '../core/items.js';
import type { Principal } from '../core/model.js';
import { keys, pad } from '../core/table.js';
import { now } from '../core/util.js';

export type JobKind = 'workspace.assign' | 'workspace.unassign' | 'project.assign' | 'project.unassign';

export interface Selection {
  all: boolean;
  included: number[];
  excluded: number[];
}

export interface Job extends Selection {
  id: string;
  organization: number;
  kind: JobKind;
  target: number;
  status: 'pending' | 'running' | 'done';
  /** Last user id handled. */
  cursor: number;
  processed: number;
  created_by: number;
  created_at: string;
  finished_at: string | null;
}

/** Transactions take 100 items; one stays free for a condition. */
export const SYNC_LIMIT = 99;
/** Targets per consumer slice. */
export const SLICE = 1000;

const jobKey = (orgId: number, id: string) => ({ PK: keys.organization(orgId).PK, SK: `JOB#${id}` });

type Change = { put: Record<string, unknown> } | { del: { PK: string; SK: string } };

/** The workspace or project a change is made in. */
const targetKeyOf = (kind: JobKind, orgId: number, target: number) => (kind.startsWith('workspace.') ? keys.workspace(orgId, target) : keys.project(orgId, target));

/**
 * One membership added or removed now (the single-member endpoints). An add is conditional on the
 * workspace or project still existing ('gone' otherwise) and puts the item only when absent: adding
 * a member again changes nothing, so it is no change in the activity log either ('unchanged'). A
 * removal of someone who is no member is 'unchanged'.
 */
export function changeOne(db: Db, p: Principal, kind: JobKind, target: number, userId: number): Promise<'done' | 'gone' | 'unchanged'> {
  return changeMembership(db, p.orgId, kind, target, userId, p.userId);
}

/** changeOne for a change no member makes (an identity provider's): `by` is who added, or null. */
export async function changeMembership(db: Db, orgId: number, kind: JobKind, target: number, userId: number, by: number | null): Promise<'done' | 'gone' | 'unchanged'> {
  const c = change(kind, orgId, target, userId, by);
  try {
    await transactWrite(
      db,
      'put' in c
        ? [
            { ConditionCheck: { TableName: db.table, Key: targetKeyOf(kind, orgId, target), ConditionExpression: 'attribute_exists(PK)' } },
            { Put: { TableName: db.table, Item: c.put, ConditionExpression: 'attribute_not_exists(PK)' } },
          ]
        : [{ Delete: { TableName: db.table, Key: c.del, ConditionExpression: 'attribute_exists(PK)' } }],
    );
    return 'done';
  } catch (err) {
    const reasons = cancellationReasons(err);
    if (!reasons) throw err;
    return 'put' in c && reasons[0]?.code === 'ConditionalCheckFailed' ? 'gone' : 'unchanged';
  }
}

/** The item a change writes (assign) or the key it deletes (unassign), for one user. */
function change(kind: JobKind, orgId: number, target: number, userId: number, by: number | null): Change {
  const at = now();
  switch (kind) {
    case 'workspace.assign':
      return { put: workspaceMemberItem(orgId, target, userId, by, at) };
    case 'project.assign':
      return { put: projectMemberItem(orgId, target, userId, by, at) };
    case 'workspace.unassign':
      return { del: keys.workspaceMember(orgId, target, userId) };
    case 'project.unassign':
      return { del: keys.projectMember(orgId, target, userId) };
  }
}

/**
 * The next targets after `cursor`, in user id order: members of the organization (not deleted) that
 * the selection names. `last` is the last user id considered, which the cursor moves to even when
 * it was not a target.
 */
async function targets(db: Db, orgId: number, sel: Selection, cursor: number, limit: number): Promise<{ ids: number[]; last: number; done: boolean }> {
  const excluded = new Set(sel.excluded);
  if (!sel.all) {
    const next = [...new Set(sel.included)].filter((id) => id > cursor && !excluded.has(id)).sort((a, b) => a - b);
    const slice = next.slice(0, limit);
    const members = await batchGet(db, slice.map((u) => keys.membership(orgId, u)), true);
    const live = new Set(members.map(asMembership).filter((m) => m.deleted_at === null).map((m) => m.user_id));
    return { ids: slice.filter((id) => live.has(id)), last: slice.at(-1) ?? cursor, done: next.length <= limit };
  }
  const ids: number[] = [];
  let last = cursor;
  // The key of a member with id `cursor` (id 0 exists for nobody) is a valid place to start after.
  let start: Record<string, unknown> | undefined = { PK: keys.organization(orgId).PK, SK: `MEMBER#${pad(cursor)}` };
  while (ids.length < limit) {
    const r: QueryCommandOutput = await db.doc.send(
      new QueryCommand({
        TableName: db.table,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :m)',
        ExpressionAttributeValues: { ':pk': keys.organization(orgId).PK, ':m': 'MEMBER#' },
        ProjectionExpression: 'user_id, deleted_at',
        ExclusiveStartKey: start,
        Limit: limit - ids.length,
        ConsistentRead: true,
      }),
    );
    for (const m of r.Items ?? []) {
      last = m.user_id as number;
      if (m.deleted_at === null && !excluded.has(last)) ids.push(last);
    }
    start = r.LastEvaluatedKey;
    if (!start) return { ids, last, done: true };
  }
  return { ids, last, done: false };
}

const write = (db: Db, kind: JobKind, orgId: number, target: number, ids: number[], by: number) =>
  batchWrite(
    db,
    ids.map((u) => {
      const c = change(kind, orgId, target, u, by);
      return 'put' in c ? { PutRequest: { Item: c.put } } : { DeleteRequest: { Key: c.del } };
    }),
  );

export type BulkResult = { done: true; count: number; skipped: number[] } | { done: false; job: Job };

/**
 * Apply a bulk change now when it fits one transaction (all or nothing), else start a job. The
 * caller has been authorized for the target; the job runs with that authority.
 */
export async function bulk(db: Db, p: Principal, kind: JobKind, target: number, sel: Selection, opts: { deferredStatus?: number } = {}): Promise<BulkResult> {
  const targetKey = targetKeyOf(kind, p.orgId, target);
  const first = await targets(db, p.orgId, sel, 0, SYNC_LIMIT);
  if (first.done) {
    try {
      await transactWrite(db, [
        // The workspace or project must still be there when the change commits.
        { ConditionCheck: { TableName: db.table, Key: targetKey, ConditionExpression: 'attribute_exists(PK)' } },
        ...first.ids.map((u) => {
          const c = change(kind, p.orgId, target, u, p.userId);
          return 'put' in c ? { Put: { TableName: db.table, Item: c.put } } : { Delete: { TableName: db.table, Key: c.del } };
        }),
      ]);
    } catch (err) {
      if (isConditionFailure(err) || (err as Error).name === 'TransactionCanceledException') throw new NotFoundError();
      throw err;
    }
    const skipped = sel.all ? [] : sel.included.filter((id) => !first.ids.includes(id));
    return { done: true, count: first.ids.length, skipped };
  }
  const job: Job = {
    id: randomUUID(),
    organization: p.orgId,
    kind,
    target,
    ...sel,
    status: 'pending',
    cursor: 0,
    processed: 0,
    created_by: p.userId,
    created_at: now(),
    finished_at: null,
  };
  // The job's changes are stamped with this request's context and the status it answers when deferred.
  await withChangeContext({ ...changeContext(), ...(opts.deferredStatus ? { status: opts.deferredStatus } : {}) }, () =>
    transactWrite(db, [
      { ConditionCheck: { TableName: db.table, Key: targetKey, ConditionExpression: 'attribute_exists(PK)' } },
      { Put: { TableName: db.table, Item: { ...jobKey(p.orgId, job.id), type: 'job', ...job, expiresAt: Math.floor(Date.now() / 1000) + 30 * 86_400 } } },
    ]),
  );
  return { done: false, job };
}

/**
 * One slice of a job (called by the stream consumer for a job item that is pending or running):
 * the next SLICE targets after the cursor, then the job moves on, conditional on the cursor it
 * read. A slice replayed by a redelivered batch rewrites the same items and loses that condition.
 */
export async function runSlice(db: Db, job: Job): Promise<void> {
  if (job.status === 'done') return;
  const next = await targets(db, job.organization, job, job.cursor, SLICE);
  await write(db, job.kind, job.organization, job.target, next.ids, job.created_by);
  const cursor = next.last;
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: jobKey(job.organization, job.id),
        UpdateExpression: 'SET #s = :s, #c = :c, #p = #p + :n, #f = :f',
        ConditionExpression: '#c = :was AND #s <> :done',
        // Every name quoted: 'status', 'cursor' and 'processed' are reserved words.
        ExpressionAttributeNames: { '#s': 'status', '#c': 'cursor', '#p': 'processed', '#f': 'finished_at' },
        ExpressionAttributeValues: { ':s': next.done ? 'done' : 'running', ':c': cursor, ':n': next.ids.length, ':f': next.done ? now() : null, ':was': job.cursor, ':done': 'done' },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}

/** A job's status, for its creator and the organization's Owner and Administrators. */
export async function getJob(db: Db, p: Principal, id: string): Promise<Job> {
  const r = await getItem(db, jobKey(p.orgId, id));
  const job = r as Job | undefined;
  if (!job || (job.created_by !== p.userId && p.role !== 'OW' && p.role !== 'AD')) throw new NotFoundError();
  const { PK: _pk, SK: _sk, type: _t, expiresAt: _e, _ctx: _c, ...view } = job as Job & Record<string, unknown>;
  return view as Job;
}
