import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { signAccessToken } from '../identity/access-tokens.js';
import { type Db, getItem, batchGet, cancellationReasons, isConditionFailure, queryAll, transactWrite } from '../core/db.js';
import { AuthenticationError, ConflictError, ForbiddenError, NotFoundError } from '../core/errors.js';
import { asOrganization } from '../core/items.js';
import { type Membership, type Principal, isActiveMembership } from '../core/model.js';
import { authorize } from './organizations.js';
import { canInOrganization } from '../core/permissions.js';
import { type TokenPolicy, tokenPolicyOf } from '../core/settings.js';
import { keys, pad } from '../core/table.js';
import { hashToken, newToken, now } from '../core/util.js';
import { locateLegacyToken, newLegacyToken } from '../identity/legacy-tokens.js';

// ---------------------------------------------------------------------------------------------
// Legacy tokens: one per member, `Authorization: Token <key>`.

/**
 * Issue a new legacy API token for a user in one organization, replacing the previous one (the
 * membership holds the one current token's hash, so the old token stops working at once; a lookup
 * item the previous one had, if it was of the older form, goes in the same transaction). The token
 * names its membership (see identity/legacy-tokens.ts), so it needs no lookup item of its own.
 * Returns the token; only its hash is stored.
 */
export async function resetLegacyToken(db: Db, orgId: number, userId: number, token = newLegacyToken(orgId, userId), known?: { tokenHash?: string }): Promise<string> {
  // `known`: the membership as the caller just read it (spares a read; the transaction re-checks it).
  const item = known ?? (await getItem(db, keys.membership(orgId, userId)));
  if (!item) throw new NotFoundError('Member not found.');
  const previous = item.tokenHash as string | undefined;
  const hash = hashToken(token);
  try {
    await transactWrite(db, [
      {
        Update: {
          TableName: db.table,
          Key: keys.membership(orgId, userId),
          UpdateExpression: 'SET tokenHash = :h',
          // Only if nobody replaced the token in between: one current token per member.
          ConditionExpression: previous ? 'tokenHash = :prev' : 'attribute_exists(PK) AND attribute_not_exists(tokenHash)',
          ExpressionAttributeValues: { ':h': hash, ...(previous ? { ':prev': previous } : {}) },
        },
      },
      // A token of another form (one a script chose) is found through its lookup item.
      ...(locateLegacyToken(token)
        ? []
        : [{ Put: { TableName: db.table, Item: { ...keys.token(hash), type: 'legacy_token', userId, orgId, created_at: now() }, ConditionExpression: 'attribute_not_exists(PK)' } }]),
      ...(previous ? [{ Delete: { TableName: db.table, Key: keys.token(previous) } }] : []),
    ]);
  } catch (err) {
    if (cancellationReasons(err)?.[0]?.code === 'ConditionalCheckFailed') return resetLegacyToken(db, orgId, userId, token);
    throw err;
  }
  return token;
}

async function requireTokens(db: Db, p: Principal): Promise<void> {
  await authorize(db, p, p.orgId, 'tokens.own');
}

/**
 * GET /api/current-user/token. Tokens are kept only as hashes, so an existing token cannot be shown
 * again: the first call issues one and shows it; later calls say how to get a new one.
 */
export async function legacyToken(db: Db, p: Principal): Promise<{ token: string } | { detail: string }> {
  await requireTokens(db, p);
  const m = await getItem(db, keys.membership(p.orgId, p.userId));
  if (!m) throw new NotFoundError('Member not found.');
  if (m.tokenHash) return { detail: 'Your token was shown when it was created. Reset it with POST /api/current-user/reset-token/ to get a new one.' };
  return { token: await resetLegacyToken(db, p.orgId, p.userId, newLegacyToken(p.orgId, p.userId), m) };
}

export async function resetOwnLegacyToken(db: Db, p: Principal): Promise<string> {
  await requireTokens(db, p);
  return resetLegacyToken(db, p.orgId, p.userId);
}

// ---------------------------------------------------------------------------------------------
// Personal access tokens: long-lived refresh tokens exchanged for 5-minute access tokens.

const PAT_PREFIX = 'rpat_';
const patListKey = (orgId: number, userId: number, hash: string) => ({ PK: keys.organization(orgId).PK, SK: `PAT#${pad(userId)}#${hash}` });

export interface PatView {
  token: string;
  created_at: string;
  expires_at: string;
}

async function memberSince(db: Db, p: Principal): Promise<string> {
  const r = await getItem(db, keys.membership(p.orgId, p.userId));
  return String(r?.created_at);
}

async function policyOf(db: Db, orgId: number): Promise<TokenPolicy> {
  const r = await getItem(db, keys.organization(orgId));
  if (!r) throw new NotFoundError();
  return tokenPolicyOf(asOrganization(r));
}

/** Create a personal access token, shown this once; it lives for the organization's api_token_ttl_days. */
export async function createPat(db: Db, p: Principal): Promise<PatView> {
  await requireTokens(db, p);
  const [policy, since] = await Promise.all([policyOf(db, p.orgId), memberSince(db, p)]);
  if (!policy.api_tokens_enabled) throw new ForbiddenError('API tokens are disabled in this organization.');
  const token = PAT_PREFIX + newToken();
  const hash = hashToken(token);
  const created = new Date();
  const expires = new Date(created.getTime() + policy.api_token_ttl_days * 86_400_000);
  const view = { created_at: created.toISOString(), expires_at: expires.toISOString() };
  const ttl = Math.floor(expires.getTime() / 1000);
  const display = `${token.slice(0, PAT_PREFIX.length + 4)}…${token.slice(-4)}`;
  await transactWrite(db, [
    // Bound to this membership: after a deletion and a new invitation, old tokens stay dead.
    { Put: { TableName: db.table, Item: { ...keys.token(hash), type: 'pat', userId: p.userId, orgId: p.orgId, member_since: since, ...view, expiresAt: ttl }, ConditionExpression: 'attribute_not_exists(PK)' } },
    { Put: { TableName: db.table, Item: { ...patListKey(p.orgId, p.userId, hash), type: 'pat_listing', display, ...view, expiresAt: ttl } } },
  ]);
  return { token, ...view };
}

/** The caller's personal access tokens in this organization (masked: the secret is never shown again). */
export async function listPats(db: Db, p: Principal): Promise<PatView[]> {
  await requireTokens(db, p);
  const prefix = patListKey(p.orgId, p.userId, '');
  const items = await queryAll(db, {
    KeyConditionExpression: 'PK = :pk AND begins_with(SK, :sk)',
    ExpressionAttributeValues: { ':pk': prefix.PK, ':sk': prefix.SK },
  });
  const at = Date.now();
  return items
    .filter((i) => Date.parse(String(i.expires_at)) > at)
    .map((i) => ({ token: String(i.display), created_at: String(i.created_at), expires_at: String(i.expires_at) }))
    .sort((a, b) => a.created_at.localeCompare(b.created_at));
}

interface PatRecord {
  hash: string;
  userId: number;
  orgId: number;
  expires_at: string;
  member_since: string;
}

async function findPat(db: Db, token: string): Promise<PatRecord | undefined> {
  const hash = hashToken(token);
  const r = await getItem(db, keys.token(hash));
  if (r?.type !== 'pat' || Date.parse(String(r.expires_at)) <= Date.now()) return undefined;
  return { hash, userId: r.userId, orgId: r.orgId, expires_at: r.expires_at, member_since: r.member_since };
}

const deletePat = (db: Db, pat: PatRecord) => [
  { Delete: { TableName: db.table, Key: keys.token(pat.hash), ConditionExpression: 'attribute_exists(PK)' } },
  { Delete: { TableName: db.table, Key: patListKey(pat.orgId, pat.userId, pat.hash) } },
];

/**
 * POST /api/token/refresh/ {refresh}: a personal access token buys a 5-minute access token, as long
 * as it is live, its owner is an active member and the organization allows API tokens.
 */
export async function refreshAccess(db: Db, refresh: string, key: Uint8Array): Promise<{ access: string }> {
  const pat = await findPat(db, refresh);
  if (!pat) throw new AuthenticationError('Token is invalid or expired');
  const items = await batchGet(db, [keys.membership(pat.orgId, pat.userId), keys.organization(pat.orgId)], true);
  const m = items.find((i) => i.SK !== 'ORG') as Membership | undefined;
  const org = items.find((i) => i.SK === 'ORG');
  if (!m || !org || !isActiveMembership(m) || m.created_at !== pat.member_since) throw new AuthenticationError('User inactive or deleted.');
  const settings = asOrganization(org);
  if (!tokenPolicyOf(settings).api_tokens_enabled) throw new AuthenticationError('API tokens are disabled in this organization.');
  if (!canInOrganization(m.role, 'tokens.own', settings.permission_overrides)) throw new AuthenticationError('API tokens are not allowed for your role in this organization.');
  return { access: await signAccessToken(key, { userId: pat.userId, orgId: pat.orgId, patHash: pat.hash }) };
}

async function ownPat(db: Db, p: Principal, token: string): Promise<PatRecord | undefined> {
  const pat = await findPat(db, token);
  return pat && pat.userId === p.userId && pat.orgId === p.orgId ? pat : undefined;
}

/** POST /api/token/blacklist/: the token, and every access token it issued, stop working at once. */
export async function blacklistPat(db: Db, p: Principal, token: string): Promise<void> {
  await requireTokens(db, p);
  const pat = await ownPat(db, p, token);
  if (!pat) throw new NotFoundError('Token is already blacklisted');
  try {
    await transactWrite(db, deletePat(db, pat));
  } catch (err) {
    if (cancellationReasons(err)) throw new NotFoundError('Token is already blacklisted');
    throw err;
  }
}

/** POST /api/token/rotate/: blacklist a token and issue its replacement, in one transaction. */
export async function rotatePat(db: Db, p: Principal, token: string): Promise<{ refresh: string }> {
  await requireTokens(db, p);
  const pat = await ownPat(db, p, token);
  if (!pat) throw new AuthenticationError('Invalid token or token already blacklisted');
  const fresh = await createPat(db, p);
  try {
    await transactWrite(db, deletePat(db, pat));
  } catch (err) {
    // Lost a race with another rotation or blacklisting: withdraw the replacement too.
    await transactWrite(db, deletePat(db, { ...pat, hash: hashToken(fresh.token) }));
    if (cancellationReasons(err)) throw new AuthenticationError('Invalid token or token already blacklisted');
    throw err;
  }
  return { refresh: fresh.token };
}

// ---------------------------------------------------------------------------------------------
// Token policy (LSE's /api/jwt/settings)

export async function getTokenPolicy(db: Db, p: Principal): Promise<TokenPolicy> {
  await authorize(db, p, p.orgId, 'organization.sso.configure');
  return policyOf(db, p.orgId);
}

/**
 * Switching a token kind off makes its tokens fail on the next request (authentication reads the
 * policy). One conditional write over the policy that was read, so concurrent edits never mix.
 */
export async function setTokenPolicy(db: Db, p: Principal, patch: Partial<TokenPolicy>): Promise<TokenPolicy> {
  await authorize(db, p, p.orgId, 'organization.sso.configure');
  const r = await getItem(db, keys.organization(p.orgId));
  if (!r) throw new NotFoundError();
  const stored = (r.token_policy ?? null) as Partial<TokenPolicy> | null;
  const next = { ...stored, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.organization(p.orgId),
        UpdateExpression: 'SET token_policy = :next',
        ConditionExpression: stored ? 'token_policy = :stored' : 'attribute_not_exists(token_policy)',
        ExpressionAttributeValues: { ':next': next, ...(stored ? { ':stored': stored } : {}) },
      }),
    );
  } catch (err) {
    if (isConditionFailure(err)) throw new ConflictError('The token policy changed meanwhile; retry.');
    throw err;
  }
  return tokenPolicyOf({ token_policy: next });
}
