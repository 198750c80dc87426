import { type AccessClaims, ISSUER, unverifiedIssuer } from './access-tokens.js';
import { type Db, batchGet, getItem } from '../core/db.js';
import { AuthenticationError } from '../core/errors.js';
import { asOrganization } from '../core/items.js';
import { type Membership, type Principal, type Via, isActiveMembership } from '../core/model.js';
import { canInOrganization } from '../core/permissions.js';
import { tokenPolicyOf } from '../core/settings.js';
import { keys } from '../core/table.js';
import { hashToken } from '../core/util.js';
import { locateLegacyToken, matchesHash } from './legacy-tokens.js';
import { signInKey } from './security.js';

export interface Verifiers {
  /** Verifies Roster's own access tokens (from personal access tokens). */
  access: (jwt: string) => Promise<AccessClaims>;
  /**
   * Verifies Cognito access tokens; absent when no user pool is configured. `orgId`: the
   * organization a federated (SAML) session is bound to, the one whose IdP signed the person in.
   */
  cognito?: (jwt: string) => Promise<{ username: string; session?: string; expires?: number; orgId?: number }>;
}

type Key = { PK: string; SK: string };
type Item = Record<string, unknown>;

/** Who a credential claims to be, before the membership is read. */
export interface Caller {
  userId: number;
  orgId: number;
}

/**
 * What a route wants read together with its caller: `keys` go into the same BatchGetItem as the
 * caller's membership and organization; `alongside` (a Query, say) starts at the same moment. Both
 * are given the ids the credential names, and what they return is used only once it is verified.
 */
export interface Prefetch<E = unknown> {
  keys?: (caller: Caller) => Key[];
  alongside?: (caller: Caller) => Promise<E>;
}

export interface Authenticated<E = unknown> {
  principal: Principal;
  /** The keys read in the caller's BatchGetItem, and the items found (for the request's reads). */
  read: { keys: Key[]; items: Item[] };
  alongside?: E;
}

const SCHEME = /^(Token|Bearer)\s+(\S+)\s*$/i;

/**
 * The most keys a route may have read beside its caller. The ids are the credential's own before it
 * is verified, so this bounds what a forged credential can make a request read (the rest of a
 * route's reads happen once the caller is known).
 */
export const MAX_PREFETCH = 16;
export const INACTIVE = 'User inactive or deleted.';

/** A credential resolved to the membership it names, and what must hold of that membership. */
interface Located extends Caller {
  via: Via;
  /** Legacy tokens: the membership's token hash must be this token's. */
  token?: string;
  patHash?: string;
  session?: { session: string; expires: number };
}

/**
 * Find the membership a credential names, reading at most one item first: a self-locating legacy
 * token and a Roster access token name it themselves (no read); a Cognito token names a user, whose
 * email claim holds their active organization (one read; a SAML session names its organization
 * itself); any other legacy token is found through its lookup item (one read).
 */
async function locate(db: Db, authorization: string | undefined, verify: Verifiers): Promise<Located> {
  if (!authorization) throw new AuthenticationError();
  const match = SCHEME.exec(authorization);
  if (!match) throw new AuthenticationError('Invalid authorization header; use "Token <key>" or "Bearer <access token>".');
  const [, scheme, credential] = match as unknown as [string, string, string];

  if (scheme.toLowerCase() === 'token') {
    const named = locateLegacyToken(credential);
    if (named) return { ...named, via: 'token', token: credential };
    const lookup = await getItem(db, keys.token(hashToken(credential)));
    if (lookup?.type !== 'legacy_token') throw new AuthenticationError('Invalid token.');
    return { userId: Number(lookup.userId), orgId: Number(lookup.orgId), via: 'token', token: credential };
  }
  if (unverifiedIssuer(credential) === ISSUER) {
    const claims = await verify.access(credential);
    return { userId: claims.userId, orgId: claims.orgId, via: 'pat', patHash: claims.patHash };
  }
  if (!verify.cognito) throw new AuthenticationError('Given token not valid for any token type');
  const { username, session, expires, orgId: bound } = await verify.cognito(credential);
  const claim = await getItem(db, keys.email(username));
  // A session through an organization's IdP acts in that organization only, whatever the user's
  // active organization says: another organization's IdP never reaches the person's other memberships.
  const orgId = bound ?? claim?.active_organization;
  if (!claim || typeof orgId !== 'number') throw new AuthenticationError(INACTIVE);
  return { userId: Number(claim.userId), orgId, via: 'cognito', ...(session ? { session: { session, expires: expires ?? 0 } } : {}) };
}

/**
 * Resolve a request's Authorization header to a principal. The membership, the organization (token
 * policy, permission overrides) and the credential's own item are read fresh on every request in
 * one strongly consistent BatchGetItem, together with the items the route declared: a deactivated
 * member, a revoked token, or a token kind switched off is refused on the very next request.
 *
 * Round trips: a Roster legacy token or access token 1; a Cognito token 2 (its email claim first);
 * a legacy token of another form (the bootstrap token) 2 (its lookup first).
 */
export async function authenticate<E = unknown>(db: Db, authorization: string | undefined, verify: Verifiers, prefetch: Prefetch<E> = {}): Promise<Authenticated<E>> {
  const at = await locate(db, authorization, verify);
  const caller = { userId: at.userId, orgId: at.orgId };
  const memberKey = keys.membership(at.orgId, at.userId);
  const orgKey = keys.organization(at.orgId);
  const own = [memberKey, orgKey, ...(at.patHash ? [keys.token(at.patHash)] : []), ...(at.session ? [signInKey(at.session.session)] : [])];
  const extra = prefetch.keys?.(caller) ?? [];
  const wanted = [...own, ...(extra.length <= MAX_PREFETCH ? extra : [])];
  const alongside = prefetch.alongside?.(caller);
  // Settled before anything is thrown, so a refusal never leaves a read running unobserved.
  alongside?.catch(() => undefined);
  const items = await batchGet(db, wanted, true);
  const find = (k: Key) => items.find((i) => i.PK === k.PK && i.SK === k.SK);
  const m = find(memberKey) as (Membership & { tokenHash?: string }) | undefined;
  const orgItem = find(orgKey);
  // A legacy token is checked first: one that is not a member's current token says nothing of the
  // membership its ids name (whether it exists, or is active), and names nobody in the log.
  if (at.token !== undefined && !matchesHash(at.token, m?.tokenHash)) throw new AuthenticationError('Invalid token.');
  // The refusal names who was refused, so the security event lands in that organization's log.
  // From here the credential is the member's own: a refusal names them, in their organization's log.
  const refuse = (detail: string) => Object.assign(new AuthenticationError(detail), { who: { userId: at.userId, orgId: at.orgId, email: m?.user?.email } });
  if (!m || !orgItem || !isActiveMembership(m)) throw refuse(INACTIVE);
  const org = asOrganization(orgItem);
  const policy = tokenPolicyOf(org);
  if (at.via === 'token' && !policy.legacy_api_tokens_enabled) throw refuse('Legacy API tokens are disabled in this organization.');
  if (at.via === 'pat') {
    if (!policy.api_tokens_enabled) throw refuse('API tokens are disabled in this organization.');
    const pat = find(keys.token(at.patHash!));
    if (!pat || pat.type !== 'pat' || pat.userId !== at.userId || pat.member_since !== m.created_at || Date.parse(String(pat.expires_at)) <= Date.now()) {
      throw refuse('Token is blacklisted or expired.');
    }
  }
  const overrides = org.permission_overrides ?? {};
  // An Owner may restrict API tokens to some roles: the others keep signing in, but not with tokens.
  if (at.via !== 'cognito' && !canInOrganization(m.role, 'tokens.own', overrides)) {
    throw refuse('API tokens are not allowed for your role in this organization.');
  }
  // A Cognito session seen for the first time is a sign-in (recorded by the caller of this function).
  const signIn = at.session && !find(signInKey(at.session.session)) ? at.session : undefined;
  const principal: Principal = { userId: at.userId, orgId: at.orgId, role: m.role, via: at.via, overrides, email: m.user?.email, ...(signIn ? { signIn } : {}) };
  return { principal, read: { keys: wanted, items }, ...(alongside ? { alongside: await alongside } : {}) };
}
