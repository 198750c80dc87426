/**
 * SCIM tokens: bearer credentials of one organization, valid only under /scim/v2/ (SPEC §4). Kept
 * as a hash (`TOKEN#<sha-256>`, type `scim_token`, the organization beside it) and a listing item in
 * the organization (`SCIMTOK#<id>`, no secret). Revoking deletes both at once, so the very next
 * request with the token is refused. The /api chain never accepts them: its lookup of a `Token`
 * credential wants type `legacy_token`, and a `Bearer` credential is a JWT there.
 *
 * As in LSE, an Owner's legacy API token sent as `Bearer` is accepted under /scim/v2/ too.
 */
import { randomBytes } from 'node:crypto';
import { type Db, batchGet, getItem, queryAll, transactWrite, cancellationReasons } from '../../core/db.js';
import { AuthenticationError, ConflictError, NotFoundError } from '../../core/errors.js';
import { asOrganization } from '../../core/items.js';
import type { Membership, Principal } from '../../core/model.js';
import { tokenPolicyOf } from '../../core/settings.js';
import { keys } from '../../core/table.js';
import { hashToken, newToken, now } from '../../core/util.js';
import { locateLegacyToken, matchesHash } from '../../identity/legacy-tokens.js';
import { authorize } from '../../org/organizations.js';

const PREFIX = 'rscim_';
/** At most this many live SCIM tokens per organization (one per IdP connection is the usual). */
export const MAX_SCIM_TOKENS = 20;

export interface ScimTokenView {
  id: string;
  /** The first and last characters, to tell tokens apart; the secret itself is shown only at creation. */
  display: string;
  created_at: string;
  created_by: number;
}

const viewOf = (i: Record<string, unknown>): ScimTokenView => ({ id: String(i.id), display: String(i.display), created_at: String(i.created_at), created_by: Number(i.created_by) });

/** POST /api/scim/tokens (Owner, Administrator): a new token, shown this once. */
export async function createScimToken(db: Db, p: Principal): Promise<ScimTokenView & { token: string }> {
  await authorize(db, p, p.orgId, 'organization.sso.configure');
  const existing = await listScimTokens(db, p);
  if (existing.length >= MAX_SCIM_TOKENS) throw new ConflictError(`At most ${MAX_SCIM_TOKENS} SCIM tokens per organization; revoke one first.`);
  const token = `${PREFIX}${newToken()}${newToken()}`;
  const hash = hashToken(token);
  const id = randomBytes(8).toString('hex');
  const view: ScimTokenView = { id, display: `${token.slice(0, PREFIX.length + 4)}…${token.slice(-4)}`, created_at: now(), created_by: p.userId };
  await transactWrite(db, [
    { Put: { TableName: db.table, Item: { ...keys.token(hash), type: 'scim_token', orgId: p.orgId, token_id: id }, ConditionExpression: 'attribute_not_exists(PK)' } },
    { Put: { TableName: db.table, Item: { ...keys.scimToken(p.orgId, id), type: 'scim_token_listing', hash, ...view }, ConditionExpression: 'attribute_not_exists(PK)' } },
  ]);
  return { ...view, token };
}

/** GET /api/scim/tokens: the organization's SCIM tokens, without secrets, oldest first. */
export async function listScimTokens(db: Db, p: Principal): Promise<ScimTokenView[]> {
  await authorize(db, p, p.orgId, 'organization.sso.configure');
  const prefix = keys.scimTokenPrefix(p.orgId);
  const items = await queryAll(db, { KeyConditionExpression: 'PK = :pk AND begins_with(SK, :sk)', ExpressionAttributeValues: { ':pk': prefix.PK, ':sk': prefix.SKPrefix }, ConsistentRead: true });
  return items.map(viewOf).sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
}

/** DELETE /api/scim/tokens/{id}: the token is refused from the next request on. */
export async function revokeScimToken(db: Db, p: Principal, id: string): Promise<void> {
  await authorize(db, p, p.orgId, 'organization.sso.configure');
  const listing = await getItem(db, keys.scimToken(p.orgId, id));
  if (!listing) throw new NotFoundError('SCIM token not found.');
  try {
    await transactWrite(db, [
      { Delete: { TableName: db.table, Key: keys.scimToken(p.orgId, id), ConditionExpression: 'attribute_exists(PK)' } },
      { Delete: { TableName: db.table, Key: keys.token(String(listing.hash)) } },
    ]);
  } catch (err) {
    if (cancellationReasons(err)?.[0]?.code === 'ConditionalCheckFailed') throw new NotFoundError('SCIM token not found.');
    throw err;
  }
}

/** Who is calling under /scim/v2/: always one organization; a person only for an Owner's API token. */
export interface ScimCaller {
  orgId: number;
  /** The SCIM token's id, when a SCIM token authenticated. */
  tokenId?: string;
  /** The Owner, when their legacy API token authenticated. */
  owner?: { userId: number; email?: string };
}

const SCHEME = /^(Bearer|Token)\s+(\S+)\s*$/i;

/**
 * Authenticate a /scim/v2/ request: `Bearer <SCIM token>` (one strongly consistent GetItem), or an
 * Owner's legacy API token (`Bearer` as in LSE, or `Token`): its membership and organization are read
 * fresh, and it must be the Owner's current token with legacy tokens allowed in the organization.
 */
export async function authenticateScim(db: Db, authorization: string | undefined): Promise<ScimCaller> {
  if (!authorization) throw new AuthenticationError();
  const match = SCHEME.exec(authorization);
  if (!match) throw new AuthenticationError('Invalid authorization header; use "Bearer <SCIM token>".');
  const credential = match[2]!;
  let at = locateLegacyToken(credential);
  if (!at) {
    const lookup = await getItem(db, keys.token(hashToken(credential)));
    if (lookup?.type === 'scim_token') return { orgId: Number(lookup.orgId), tokenId: String(lookup.token_id) };
    if (lookup?.type !== 'legacy_token') throw new AuthenticationError('Invalid token.');
    at = { orgId: Number(lookup.orgId), userId: Number(lookup.userId) };
  }
  const items = await batchGet(db, [keys.membership(at.orgId, at.userId), keys.organization(at.orgId)], true);
  const m = items.find((i) => i.SK !== 'ORG') as (Membership & { tokenHash?: string }) | undefined;
  const org = items.find((i) => i.SK === 'ORG');
  if (!m || !org || !matchesHash(credential, m.tokenHash)) throw new AuthenticationError('Invalid token.');
  if (m.deleted_at !== null || m.role !== 'OW') throw new AuthenticationError('Only the Owner\'s API token or a SCIM token is accepted here.');
  if (!tokenPolicyOf(asOrganization(org)).legacy_api_tokens_enabled) throw new AuthenticationError('Legacy API tokens are disabled in this organization.');
  return { orgId: at.orgId, owner: { userId: at.userId, email: m.user?.email } };
}
