/**
 * IdP groups pushed over SCIM: the group item, a claim on its displayName (unique in the
 * organization: mappings name groups by it), and one item per member with a mirror under the user,
 * so that a group of any size is read in pages and a user's groups are one strongly consistent
 * Query. Member changes are deltas — idempotent puts and deletes of those items, never a
 * read-modify-write of a list — so concurrent changes to one group lose nothing. Every change
 * re-evaluates the group mappings of the users whose groups changed (engine.ts).
 */
import { randomUUID } from 'node:crypto';
import { QueryCommand, type QueryCommandOutput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, batchGet, batchWrite, cancellationReasons, getItem, transactWrite } from '../core/db.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import { keys } from '../core/table.js';
import { now } from '../core/util.js';
import { type ScimGroup, asGroup, getGroup, memberItems, pageMembers } from './group-store.js';
import { reevaluate } from './reevaluate.js';

export type { ScimGroup };
export { getGroup, groupNamesOf, groupsOf, isMember, pageMembers } from './group-store.js';

const taken = () => Object.assign(new ConflictError('A group with this displayName already exists.'), { scimType: 'uniqueness' });

export async function createGroup(db: Db, orgId: number, input: { displayName: string; externalId?: string }): Promise<ScimGroup> {
  const at = now();
  const group: ScimGroup = { id: randomUUID(), organization: orgId, displayName: input.displayName, ...(input.externalId ? { externalId: input.externalId } : {}), created: at, lastModified: at, version: 1 };
  try {
    await transactWrite(db, [
      { Put: { TableName: db.table, Item: { ...keys.scimGroupName(orgId, group.displayName), type: 'scim_group_name', group: group.id }, ConditionExpression: 'attribute_not_exists(PK)' } },
      { Put: { TableName: db.table, Item: { ...keys.scimGroup(orgId, group.id), type: 'scim_group', ...group }, ConditionExpression: 'attribute_not_exists(PK)' } },
    ]);
  } catch (err) {
    if (cancellationReasons(err)?.[0]?.code === 'ConditionalCheckFailed') throw taken();
    throw err;
  }
  return group;
}

/** The group that holds a displayName (exact, case-sensitive as the mappings match). */
export async function groupByName(db: Db, orgId: number, displayName: string): Promise<ScimGroup | undefined> {
  const claim = await getItem(db, keys.scimGroupName(orgId, displayName));
  return claim ? getGroup(db, orgId, String(claim.group)) : undefined;
}

/** A page of the organization's groups, in id order. */
export async function pageGroups(db: Db, orgId: number, page: { after?: string; limit: number }): Promise<{ groups: ScimGroup[]; next?: string }> {
  const pk = keys.organization(orgId).PK;
  const r: QueryCommandOutput = await db.doc.send(
    new QueryCommand({
      TableName: db.table,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :g)',
      ExpressionAttributeValues: { ':pk': pk, ':g': 'SCIMG#' },
      ...(page.after ? { ExclusiveStartKey: keys.scimGroup(orgId, page.after) } : {}),
      Limit: page.limit,
      ConsistentRead: true,
    }),
  );
  const groups = (r.Items ?? []).map(asGroup);
  return { groups, ...(r.LastEvaluatedKey ? { next: groups.at(-1)!.id } : {}) };
}

/**
 * Rename a group (and set its externalId): the old name's claim goes, the new one must be free.
 * Mappings match names, so every member is re-evaluated (a job when the group is large).
 */
export async function updateGroup(db: Db, orgId: number, groupId: string, input: { displayName: string; externalId?: string | null }): Promise<ScimGroup> {
  const current = await getGroup(db, orgId, groupId);
  if (!current) throw new NotFoundError('Group not found.');
  const renamed = input.displayName !== current.displayName;
  const at = now();
  try {
    await transactWrite(db, [
      {
        Update: {
          TableName: db.table,
          Key: keys.scimGroup(orgId, groupId),
          UpdateExpression: `SET displayName = :n, lastModified = :at, version = version + :one${input.externalId ? ', externalId = :x' : ''}${input.externalId === null ? ' REMOVE externalId' : ''}`,
          ConditionExpression: 'displayName = :was',
          ExpressionAttributeValues: { ':n': input.displayName, ':at': at, ':one': 1, ':was': current.displayName, ...(input.externalId ? { ':x': input.externalId } : {}) },
        },
      },
      ...(renamed
        ? [
            { Delete: { TableName: db.table, Key: keys.scimGroupName(orgId, current.displayName) } },
            { Put: { TableName: db.table, Item: { ...keys.scimGroupName(orgId, input.displayName), type: 'scim_group_name', group: groupId }, ConditionExpression: 'attribute_not_exists(PK)' } },
          ]
        : []),
    ]);
  } catch (err) {
    const reasons = cancellationReasons(err);
    if (reasons?.[2]?.code === 'ConditionalCheckFailed') throw taken();
    if (reasons) throw new ConflictError('The group changed while updating; retry.');
    throw err;
  }
  if (renamed) await reevaluate(db, orgId, { group: groupId });
  return (await getGroup(db, orgId, groupId))!;
}

/** Delete a group: it and its name go at once; its members leave it (and are re-evaluated) in slices. */
export async function deleteGroup(db: Db, orgId: number, groupId: string): Promise<void> {
  const current = await getGroup(db, orgId, groupId);
  if (!current) throw new NotFoundError('Group not found.');
  await transactWrite(db, [
    { Delete: { TableName: db.table, Key: keys.scimGroup(orgId, groupId), ConditionExpression: 'attribute_exists(PK)' } },
    { Delete: { TableName: db.table, Key: keys.scimGroupName(orgId, current.displayName) } },
  ]);
  await reevaluate(db, orgId, { deletedGroup: groupId });
}

/** Bump the group's version (a member changed): an atomic update, so concurrent changes all count. */
async function touch(db: Db, orgId: number, groupId: string): Promise<void> {
  await db.doc.send(
    new UpdateCommand({
      TableName: db.table,
      Key: keys.scimGroup(orgId, groupId),
      UpdateExpression: 'SET lastModified = :at ADD version :one',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':at': now(), ':one': 1 },
    }),
  ).catch(() => undefined);
}

/**
 * Which of `userIds` are members of the organization (not deleted): only they join groups. Returns
 * the ids in the order given, deduplicated.
 */
async function liveMembers(db: Db, orgId: number, userIds: readonly number[]): Promise<number[]> {
  const unique = [...new Set(userIds)];
  const found = await batchGet(db, unique.map((u) => keys.membership(orgId, u)), true);
  const live = new Set(found.filter((m) => m.deleted_at === null).map((m) => Number(m.user_id)));
  return unique.filter((u) => live.has(u));
}

/** Add members (idempotent): returns the ids that are members of the organization and were added or were in already. */
export async function addMembers(db: Db, orgId: number, groupId: string, userIds: readonly number[]): Promise<{ added: number[]; unknown: number[] }> {
  if (!(await getGroup(db, orgId, groupId))) throw new NotFoundError('Group not found.');
  const live = await liveMembers(db, orgId, userIds);
  const at = now();
  await batchWrite(db, live.flatMap((u) => memberItems(orgId, groupId, u, at)).map((Item) => ({ PutRequest: { Item } })), 4);
  if (live.length) {
    await touch(db, orgId, groupId);
    await reevaluate(db, orgId, { users: live });
  }
  const liveSet = new Set(live);
  return { added: live, unknown: [...new Set(userIds)].filter((u) => !liveSet.has(u)) };
}

/** Remove members (idempotent: someone who is no member is no change). */
export async function removeMembers(db: Db, orgId: number, groupId: string, userIds: readonly number[]): Promise<void> {
  if (!(await getGroup(db, orgId, groupId))) throw new NotFoundError('Group not found.');
  const unique = [...new Set(userIds)];
  await batchWrite(db, unique.flatMap((u) => [keys.groupMember(orgId, groupId, u), keys.userGroup(orgId, u, groupId)]).map((Key) => ({ DeleteRequest: { Key } })), 4);
  if (unique.length) {
    await touch(db, orgId, groupId);
    await reevaluate(db, orgId, { users: unique });
  }
}

/**
 * Make the members exactly `userIds`: the current members are walked in pages (bounded memory
 * whatever the group's size), those not wanted are removed and the wanted ones not there added.
 */
export async function replaceMembers(db: Db, orgId: number, groupId: string, userIds: readonly number[]): Promise<{ unknown: number[] }> {
  if (!(await getGroup(db, orgId, groupId))) throw new NotFoundError('Group not found.');
  const wanted = new Set(await liveMembers(db, orgId, userIds));
  const present = new Set<number>();
  const gone: number[] = [];
  let after: number | undefined;
  do {
    const page = await pageMembers(db, orgId, groupId, { after, limit: 1000 });
    for (const u of page.userIds) {
      if (wanted.has(u)) present.add(u);
      else gone.push(u);
    }
    after = page.next;
  } while (after !== undefined);
  const add = [...wanted].filter((u) => !present.has(u));
  const at = now();
  await batchWrite(
    db,
    [
      ...gone.flatMap((u) => [keys.groupMember(orgId, groupId, u), keys.userGroup(orgId, u, groupId)]).map((Key) => ({ DeleteRequest: { Key } })),
      ...add.flatMap((u) => memberItems(orgId, groupId, u, at)).map((Item) => ({ PutRequest: { Item } })),
    ],
    4,
  );
  const changed = [...gone, ...add];
  if (changed.length) {
    await touch(db, orgId, groupId);
    await reevaluate(db, orgId, { users: changed });
  }
  const wantedAll = new Set(userIds);
  return { unknown: [...wantedAll].filter((u) => !wanted.has(u)) };
}

