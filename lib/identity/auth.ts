import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type AccessClaims, ISSUER, unverifiedIssuer } from './access-tokens.js';
import { type Db, batchGet } from '../core/db.js';
import { AuthenticationError } from '../core/errors.js';
import { asOrganization } from '../core/items.js';
import { type Membership, type Principal, type Via, isActiveMembership } from '../core/model.js';
import { canInOrganization } from '../core/permissions.js';
import { tokenPolicyOf } from '../core/settings.js';
import { signInKey } from './security.js';
import { keys } from '../core/table.js';
import { hashToken } from '../core/util.js';

/** What the authorizer hands to handlers (API Gateway authorizer context values are flat scalars). */
export type AuthContext = { userId: number; orgId: number; role: string; via: string; overrides: string; email: string } | { error: string };

export interface Verifiers {
  /** Verifies Roster's own access tokens (from personal access tokens). */
  access: (jwt: string) => Promise<AccessClaims>;
  /** Verifies Cognito access tokens; absent when no user pool is configured. */
  cognito?: (jwt: string) => Promise<{ username: string; session?: string; expires?: number }>;
}

const SCHEME = /^(Token|Bearer)\s+(\S+)\s*$/i;
export const INACTIVE = 'User inactive or deleted.';

/**
 * Resolve a request's Authorization header to a principal. The credential and the membership are
 * read fresh (strongly consistent) on every request, with the organization's token policy and
 * permission overrides in the same BatchGet: a deactivated member, a revoked token, or a token kind
 * switched off is refused on the very next request.
 *
 * Round trips: legacy token 2 (token, then membership+organization); Roster access token 1
 * (membership+organization+personal access token); Cognito 2 (email claim, then
 * membership+organization).
 */
export async function authenticate(db: Db, authorization: string | undefined, verify: Verifiers): Promise<Principal> {
  if (!authorization) throw new AuthenticationError();
  const match = SCHEME.exec(authorization);
  if (!match) throw new AuthenticationError('Invalid authorization header; use "Token <key>" or "Bearer <access token>".');
  const [, scheme, credential] = match as unknown as [string, string, string];

  if (scheme.toLowerCase() === 'token') {
    const hash = hashToken(credential);
    const token = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.token(hash), ConsistentRead: true }));
    if (token.Item?.type !== 'legacy_token') throw new AuthenticationError('Invalid token.');
    return resolve(db, token.Item.userId, token.Item.orgId, 'token', (m) => m.tokenHash === hash);
  }

  if (unverifiedIssuer(credential) === ISSUER) {
    const claims = await verify.access(credential);
    return resolve(db, claims.userId, claims.orgId, 'pat', undefined, claims.patHash);
  }
  if (!verify.cognito) throw new AuthenticationError('Given token not valid for any token type');
  const { username, session, expires } = await verify.cognito(credential);
  const claim = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.email(username), ConsistentRead: true }));
  if (!claim.Item || typeof claim.Item.active_organization !== 'number') throw new AuthenticationError(INACTIVE);
  return resolve(db, claim.Item.userId, claim.Item.active_organization, 'cognito', undefined, undefined, session ? { session, expires: expires ?? 0 } : undefined);
}

async function resolve(
  db: Db,
  userId: number,
  orgId: number,
  via: Via,
  tokenIsCurrent?: (m: Membership & { tokenHash?: string }) => boolean,
  patHash?: string,
  session?: { session: string; expires: number },
): Promise<Principal> {
  const memberKey = keys.membership(orgId, userId);
  const orgKey = keys.organization(orgId);
  const items = await batchGet(db, [memberKey, orgKey, ...(patHash ? [keys.token(patHash)] : []), ...(session ? [signInKey(session.session)] : [])], true);
  const find = (k: { PK: string; SK: string }) => items.find((i) => i.PK === k.PK && i.SK === k.SK);
  const m = find(memberKey) as (Membership & { tokenHash?: string }) | undefined;
  const orgItem = find(orgKey);
  // The refusal names who was refused, so the security event lands in that organization's log.
  if (!m || !orgItem || !isActiveMembership(m)) throw Object.assign(new AuthenticationError(INACTIVE), { who: { userId, orgId, email: m?.user?.email } });
  if (tokenIsCurrent && !tokenIsCurrent(m)) throw new AuthenticationError('Invalid token.');
  const org = asOrganization(orgItem);
  const policy = tokenPolicyOf(org);
  if (via === 'token' && !policy.legacy_api_tokens_enabled) throw new AuthenticationError('Legacy API tokens are disabled in this organization.');
  if (via === 'pat') {
    if (!policy.api_tokens_enabled) throw new AuthenticationError('API tokens are disabled in this organization.');
    const pat = patHash ? find(keys.token(patHash)) : undefined;
    if (!pat || pat.type !== 'pat' || pat.userId !== userId || pat.member_since !== m.created_at || Date.parse(String(pat.expires_at)) <= Date.now()) {
      throw new AuthenticationError('Token is blacklisted or expired.');
    }
  }
  const overrides = org.permission_overrides ?? {};
  // An Owner may restrict API tokens to some roles: the others keep signing in, but not with tokens.
  if (via !== 'cognito' && !canInOrganization(m.role, 'tokens.own', overrides)) {
    throw new AuthenticationError('API tokens are not allowed for your role in this organization.');
  }
  // A Cognito session seen for the first time is a sign-in (recorded by the authorizer).
  const signIn = session && !find(signInKey(session.session)) ? session : undefined;
  return { userId, orgId, role: m.role, via, overrides, email: m.user?.email, ...(signIn ? { signIn } : {}) };
}
