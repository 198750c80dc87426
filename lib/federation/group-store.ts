/**
 * The SCIM group store's reads (and the member items' shape): what the engine's re-evaluation needs
 * without the group changes that trigger it (groups.ts), so neither imports the other.
 */
import { QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { type Db, batchGet, batchWrite, getItem, queryAll } from '../core/db.js';
import { idOf, keys, pad } from '../core/table.js';

export interface ScimGroup {
  id: string;
  organization: number;
  displayName: string;
  externalId?: string;
  created: string;
  lastModified: string;
  /** Bumped by every change, the group's and its members' (meta.version, ETag). */
  version: number;
}

/** The longest displayName (mapping group names are at most this too). */
export const MAX_DISPLAY_NAME = 256;

export const asGroup = (i: Record<string, unknown>): ScimGroup => {
  const { PK: _pk, SK: _sk, type: _t, _ctx: _c, ...g } = i;
  return g as unknown as ScimGroup;
};

export async function getGroup(db: Db, orgId: number, groupId: string): Promise<ScimGroup | undefined> {
  const r = await getItem(db, keys.scimGroup(orgId, groupId));
  return r ? asGroup(r) : undefined;
}

export const memberItems = (orgId: number, groupId: string, userId: number, at: string) => [
  { ...keys.groupMember(orgId, groupId, userId), type: 'scim_group_member', group: groupId, user_id: userId, created_at: at },
  { ...keys.userGroup(orgId, userId, groupId), type: 'scim_user_group', group: groupId, user_id: userId, created_at: at },
];

/** Remove every member (a group deleted, in slices): the members' items go and they are returned. */
export async function dropMembers(db: Db, orgId: number, groupId: string, limit: number): Promise<{ userIds: number[]; done: boolean }> {
  const page = await pageMembers(db, orgId, groupId, { limit });
  await batchWrite(db, page.userIds.flatMap((u) => [keys.groupMember(orgId, groupId, u), keys.userGroup(orgId, u, groupId)]).map((Key) => ({ DeleteRequest: { Key } })), 4);
  return { userIds: page.userIds, done: page.next === undefined };
}

/** One page of a group's member ids, in id order: `next` is the last id when more follow. */
export async function pageMembers(db: Db, orgId: number, groupId: string, page: { after?: number; limit: number }): Promise<{ userIds: number[]; next?: number }> {
  const { PK, SKPrefix } = keys.groupMemberPrefix(orgId, groupId);
  const r: QueryCommandOutput = await db.doc.send(
    new QueryCommand({
      TableName: db.table,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :m)',
      ExpressionAttributeValues: { ':pk': PK, ':m': SKPrefix },
      ProjectionExpression: 'SK',
      ...(page.after !== undefined ? { ExclusiveStartKey: { PK, SK: `${SKPrefix}${pad(page.after)}` } } : {}),
      Limit: page.limit,
      ConsistentRead: true,
    }),
  );
  const userIds = (r.Items ?? []).map((i) => idOf(String(i.SK)));
  return { userIds, ...(r.LastEvaluatedKey && userIds.length ? { next: userIds.at(-1)! } : {}) };
}

/** Whether a user is a member of a group (one read). */
export async function isMember(db: Db, orgId: number, groupId: string, userId: number): Promise<boolean> {
  return (await getItem(db, keys.groupMember(orgId, groupId, userId))) !== undefined;
}

/** The ids and names of the groups a user is in: one consistent Query, then one BatchGet of the groups. */
export async function groupsOf(db: Db, orgId: number, userId: number): Promise<ScimGroup[]> {
  const { PK, SKPrefix } = keys.userGroupPrefix(orgId, userId);
  const mine = await queryAll(db, { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :g)', ExpressionAttributeValues: { ':pk': PK, ':g': SKPrefix }, ConsistentRead: true });
  if (!mine.length) return [];
  return (await batchGet(db, mine.map((m) => keys.scimGroup(orgId, String(m.group))), true)).map(asGroup);
}

export const groupNamesOf = async (db: Db, orgId: number, userId: number) => (await groupsOf(db, orgId, userId)).map((g) => g.displayName);
