import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from './db.js';
import { AuthenticationError } from './errors.js';
import { type Membership, type Principal, isActiveMembership } from './model.js';
import { keys } from './table.js';
import { hashToken } from './util.js';

/** What the authorizer hands to handlers (API Gateway authorizer context values are flat scalars). */
export type AuthContext = { userId: number; orgId: number; role: string; via: string } | { error: string };

const TOKEN_PREFIX = /^Token\s+(\S+)\s*$/i;

/**
 * Resolve a request's Authorization header to a principal, reading the credential and the
 * membership fresh (strongly consistent) on every request: a deactivated or deleted member is
 * refused on their very next call. Two round trips.
 */
export async function authenticate(db: Db, authorization: string | undefined): Promise<Principal> {
  if (!authorization) throw new AuthenticationError();
  const match = TOKEN_PREFIX.exec(authorization);
  if (!match) throw new AuthenticationError('Invalid authorization header; use "Token <key>".');
  const token = await db.doc.send(
    new GetCommand({ TableName: db.table, Key: keys.token(hashToken(match[1]!)), ConsistentRead: true }),
  );
  if (!token.Item) throw new AuthenticationError('Invalid token.');
  const { userId, orgId } = token.Item as { userId: number; orgId: number };
  const member = await db.doc.send(
    new GetCommand({ TableName: db.table, Key: keys.membership(orgId, userId), ConsistentRead: true }),
  );
  const m = member.Item as (Membership & { tokenHash?: string }) | undefined;
  if (!m || !isActiveMembership(m) || m.tokenHash !== token.Item.PK.slice('TOKEN#'.length)) {
    throw new AuthenticationError('User inactive or deleted.');
  }
  return { userId, orgId, role: m.role, via: 'token' };
}
