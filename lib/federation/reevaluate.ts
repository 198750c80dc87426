/**
 * Re-evaluating group mappings for many members at once: after a group's members change, a group
 * is renamed or deleted, or the organization's SCIM settings are saved. A few members are done at
 * once; more become a job item that the table's stream consumer carries out in slices (as the bulk
 * membership jobs are), each slice moving the job's cursor on conditionally, so a job of any size
 * fits the consumer's time limit and a redelivered batch repeats only idempotent work.
 */
import { randomUUID } from 'node:crypto';
import { QueryCommand, type QueryCommandOutput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { changeContext, withChangeContext } from '../core/context.js';
import { type Db, getItem, isConditionFailure } from '../core/db.js';
import { NotFoundError } from '../core/errors.js';
import { idOf, keys } from '../core/table.js';
import { now } from '../core/util.js';
import { applyMappings } from './engine.js';
import { dropMembers, groupNamesOf, pageMembers } from './group-store.js';
import { type StoredMappings, getScimMappings } from './mappings.js';

/** Members re-evaluated within the request; more become a job. */
export const INLINE = 25;
/** Members per job slice. */
export const SLICE = 100;
/** Members evaluated at the same time within a slice. */
const PARALLEL = 4;

export type Who = { users: readonly number[] } | { group: string } | { deletedGroup: string } | { all: true };

export interface FederationJob {
  id: string;
  organization: number;
  who: 'users' | 'group' | 'deletedGroup' | 'all';
  group?: string;
  users?: number[];
  /** Last user id handled. */
  cursor: number;
  processed: number;
  status: 'pending' | 'running' | 'done';
  created_at: string;
  finished_at: string | null;
}

async function evaluate(db: Db, orgId: number, userIds: readonly number[], mappings: StoredMappings): Promise<void> {
  const queue = [...userIds];
  await Promise.all(
    Array.from({ length: Math.min(PARALLEL, queue.length) }, async () => {
      for (let u = queue.shift(); u !== undefined; u = queue.shift()) {
        await applyMappings(db, { orgId, userId: u, groups: await groupNamesOf(db, orgId, u), source: 'scim', mappings });
      }
    }),
  );
}

/** SCIM-provisioned members after `cursor`, in id order (their SCIM User items). */
async function scimUsers(db: Db, orgId: number, cursor: number, limit: number): Promise<{ ids: number[]; done: boolean }> {
  const pk = keys.organization(orgId).PK;
  const r: QueryCommandOutput = await db.doc.send(
    new QueryCommand({
      TableName: db.table,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :u)',
      ExpressionAttributeValues: { ':pk': pk, ':u': 'SCIMU#' },
      ProjectionExpression: 'SK',
      ExclusiveStartKey: keys.scimUser(orgId, cursor),
      Limit: limit,
      ConsistentRead: true,
    }),
  );
  return { ids: (r.Items ?? []).map((i) => idOf(String(i.SK))), done: !r.LastEvaluatedKey };
}

/** The next slice of a job's members after its cursor (a deleted group's members leave it here). */
async function next(db: Db, job: Pick<FederationJob, 'organization' | 'who' | 'group' | 'users' | 'cursor'>, limit: number): Promise<{ ids: number[]; done: boolean }> {
  switch (job.who) {
    case 'users': {
      const rest = (job.users ?? []).filter((u) => u > job.cursor).sort((a, b) => a - b);
      return { ids: rest.slice(0, limit), done: rest.length <= limit };
    }
    case 'group': {
      const page = await pageMembers(db, job.organization, job.group!, { after: job.cursor || undefined, limit });
      return { ids: page.userIds, done: page.next === undefined };
    }
    case 'deletedGroup': {
      const page = await dropMembers(db, job.organization, job.group!, limit);
      return { ids: page.userIds, done: page.done };
    }
    case 'all':
      return scimUsers(db, job.organization, job.cursor, limit);
  }
}

/**
 * Re-evaluate the SCIM group mappings of `who`: within the request when at most INLINE members are
 * concerned, else as a job (its id is returned). Runs in the current change context.
 */
export async function reevaluate(db: Db, orgId: number, who: Who): Promise<{ job?: string }> {
  const spec: Pick<FederationJob, 'organization' | 'who' | 'group' | 'users' | 'cursor'> =
    'users' in who ? { organization: orgId, who: 'users', users: [...new Set(who.users)], cursor: 0 }
    : 'group' in who ? { organization: orgId, who: 'group', group: who.group, cursor: 0 }
    : 'deletedGroup' in who ? { organization: orgId, who: 'deletedGroup', group: who.deletedGroup, cursor: 0 }
    : { organization: orgId, who: 'all', cursor: 0 };
  const mappings = await getScimMappings(db, orgId);
  const first = await next(db, spec, INLINE);
  await evaluate(db, orgId, first.ids, mappings);
  if (first.done) return {};
  const job: FederationJob = {
    id: randomUUID(),
    ...spec,
    cursor: first.ids.at(-1) ?? 0,
    processed: first.ids.length,
    status: 'pending',
    created_at: now(),
    finished_at: null,
  };
  // The job's changes carry this request's context (the consumer runs each slice in it).
  await withChangeContext(changeContext(), () =>
    db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.federationJob(orgId, job.id),
        UpdateExpression: `SET ${Object.keys(job).map((k) => `#${k} = :${k}`).join(', ')}, #type = :type, expiresAt = :exp`,
        ExpressionAttributeNames: { ...Object.fromEntries(Object.keys(job).map((k) => [`#${k}`, k])), '#type': 'type' },
        ExpressionAttributeValues: { ...Object.fromEntries(Object.entries(job).map(([k, v]) => [`:${k}`, v])), ':type': 'federation_job', ':exp': Math.floor(Date.now() / 1000) + 30 * 86_400 },
      }),
    ),
  );
  return { job: job.id };
}

/** One slice of a job (the stream consumer calls it for a job item that is not done). */
export async function runFederationSlice(db: Db, job: FederationJob): Promise<void> {
  if (job.status === 'done') return;
  const slice = await next(db, job, SLICE);
  await evaluate(db, job.organization, slice.ids, await getScimMappings(db, job.organization));
  const cursor = slice.ids.at(-1) ?? job.cursor;
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.federationJob(job.organization, job.id),
        UpdateExpression: 'SET #s = :s, #c = :c, #p = #p + :n, #f = :f',
        // A deleted group's members leave it as they are handled, so its cursor may stand still.
        ConditionExpression: '#c = :was AND #p = :processed AND #s <> :done',
        ExpressionAttributeNames: { '#s': 'status', '#c': 'cursor', '#p': 'processed', '#f': 'finished_at' },
        ExpressionAttributeValues: { ':s': slice.done ? 'done' : 'running', ':c': cursor, ':n': slice.ids.length, ':f': slice.done ? now() : null, ':was': job.cursor, ':processed': job.processed, ':done': 'done' },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}

/** A job's progress (tests and operators; no route exposes it). */
export async function getFederationJob(db: Db, orgId: number, id: string): Promise<FederationJob> {
  const r = await getItem(db, keys.federationJob(orgId, id));
  if (!r) throw new NotFoundError();
  return r as unknown as FederationJob;
}
