/**
 * Provisioning by an identity provider (SCIM's POST /Users, SAML's first sign-in): the person's
 * account, system-wide and unique by lower-cased email, and their membership here with the
 * organization's default role. Someone who already has an account gets only the membership; a
 * membership soft-deleted earlier is revived (the IdP provisioning again is an invitation).
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, batchGet, getItem, isConditionFailure } from '../core/db.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import { asMembership, asOrganization, asUser, membershipItem } from '../core/items.js';
import type { Membership, User } from '../core/model.js';
import { keys } from '../core/table.js';
import { now } from '../core/util.js';
import { NoDirectory } from '../identity/directory.js';
import { insertUser } from '../org/users.js';
import type { IdpSource } from './engine.js';

export interface Person {
  email: string;
  first_name?: string;
  last_name?: string;
}

export interface Provisioned {
  user: User;
  membership: Membership;
  /** What this call did: a new account, a new membership of an existing account, a revived one, or nothing. */
  created: 'user' | 'membership' | 'revived' | 'existing';
}

/**
 * Provision a person in an organization. Round trips: the email claim ‖ the organization; then for
 * a new person one transaction (claim, user, membership); for a known one their user ‖ membership,
 * then one conditional write. Concurrent calls for one email yield one account and one membership.
 */
export async function provisionMember(db: Db, orgId: number, person: Person, source: IdpSource, attempt = 0): Promise<Provisioned> {
  const email = person.email.toLowerCase();
  const [claim, orgItem] = await batchGet(db, [keys.email(email), keys.organization(orgId)], true).then((items) => [
    items.find((i) => i.SK === 'EMAIL'),
    items.find((i) => i.SK === 'ORG'),
  ]);
  if (!orgItem) throw new NotFoundError('Organization not found.');
  const org = asOrganization(orgItem);
  if (!claim) {
    try {
      const { user, membership } = await insertUser(db, orgId, { email, first_name: person.first_name, last_name: person.last_name }, { source, directory: new NoDirectory() });
      return { user, membership, created: 'user' };
    } catch (err) {
      // Someone provisioned this email a moment ago: take the path for a known account.
      if (err instanceof ConflictError && attempt === 0) return provisionMember(db, orgId, person, source, 1);
      throw err;
    }
  }
  const userId = Number(claim.userId);
  const [userItem, memberItem] = await Promise.all([getItem(db, keys.user(userId)), getItem(db, keys.membership(orgId, userId))]);
  if (!userItem) throw new NotFoundError('User not found.');
  const user = asUser(userItem);
  const at = now();
  if (!memberItem) {
    const item = membershipItem(orgId, user, org.default_role, source, at);
    try {
      await db.doc.send(new PutCommand({ TableName: db.table, Item: item, ConditionExpression: 'attribute_not_exists(PK)' }));
      return { user, membership: asMembership(item), created: 'membership' };
    } catch (err) {
      if (isConditionFailure(err) && attempt === 0) return provisionMember(db, orgId, person, source, 1);
      throw err;
    }
  }
  const membership = asMembership(memberItem);
  if (membership.deleted_at === null) return { user, membership, created: 'existing' };
  try {
    const r = await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.membership(orgId, userId),
        UpdateExpression: 'SET deleted_at = :null, #role = :role, role_source = :source, updated_at = :at',
        ConditionExpression: 'deleted_at <> :null AND #role <> :ow',
        ExpressionAttributeNames: { '#role': 'role' },
        ExpressionAttributeValues: { ':null': null, ':role': org.default_role, ':source': source, ':at': at, ':ow': 'OW' },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { user, membership: asMembership(r.Attributes!), created: 'revived' };
  } catch (err) {
    if (isConditionFailure(err) && attempt === 0) return provisionMember(db, orgId, person, source, 1);
    throw err;
  }
}
