import { createHash, createPrivateKey, randomUUID, sign } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * cognito-local signs its tokens with the RSA key it ships (kid "CognitoLocal") and serves the
 * public half at <issuer>/.well-known/jwks.json. Federated tokens are signed with the same key and
 * name the same issuer, so Roster verifies them exactly as it verifies cognito-local's own (and, in
 * AWS, Cognito's): lib/identity/cognito.ts against the issuer's JWKS.
 */
const localKey = createRequire(import.meta.url)('cognito-local/lib/keys/cognitoLocal.private.json') as { pem: string };
const key = createPrivateKey(localKey.pem);
const KID = 'CognitoLocal';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
export function signJwt(payload: Record<string, unknown>): string {
  const data = `${b64({ kid: KID, alg: 'RS256' })}.${b64(payload)}`;
  return `${data}.${sign('sha256', Buffer.from(data), key).toString('base64url')}`;
}

export interface TokenInput {
  issuer: string;
  clientId: string;
  username: string;
  /** The user's attributes after the sign-in (sub, email, names, custom:*, identities). */
  attributes: Record<string, string>;
  groups: string[];
  scopes: string[];
  /** Validity in seconds. */
  accessTtl: number;
  idTtl: number;
  /** Pre token generation's overrides (V1_0: ID token only; V2_0: both). */
  idOverrides?: { claimsToAddOrOverride?: Record<string, unknown>; claimsToSuppress?: string[] };
  accessOverrides?: { claimsToAddOrOverride?: Record<string, unknown>; claimsToSuppress?: string[]; scopesToAdd?: string[]; scopesToSuppress?: string[] };
  groupsOverride?: string[];
  nonce?: string;
}

/** Claims a trigger may not touch (Cognito ignores them in claimsToAddOrOverride / claimsToSuppress). */
const RESERVED = new Set(['acr', 'amr', 'aud', 'at_hash', 'auth_time', 'azp', 'cognito:username', 'exp', 'iat', 'identities', 'iss', 'jti', 'nbf', 'nonce', 'origin_jti', 'sub', 'token_use', 'username', 'client_id', 'event_id', 'scope', 'version', 'cognito:groups', 'cognito:roles', 'cognito:preferred_role']);
function override(claims: Record<string, unknown>, o?: { claimsToAddOrOverride?: Record<string, unknown>; claimsToSuppress?: string[] }) {
  for (const [k, v] of Object.entries(o?.claimsToAddOrOverride ?? {})) if (!RESERVED.has(k)) claims[k] = v;
  for (const k of o?.claimsToSuppress ?? []) if (!RESERVED.has(k)) delete claims[k];
}

/** The tokens Cognito's hosted endpoints issue for a federated sign-in (authorization-code grant). */
export function issueTokens(t: TokenInput): { access_token: string; id_token: string; refresh_token: string; token_type: 'Bearer'; expires_in: number } {
  const now = Math.floor(Date.now() / 1000);
  const origin = randomUUID();
  const event = randomUUID();
  const groups = t.groupsOverride ?? t.groups;
  const scopes = new Set(t.scopes);
  for (const s of t.accessOverrides?.scopesToAdd ?? []) scopes.add(s);
  for (const s of t.accessOverrides?.scopesToSuppress ?? []) scopes.delete(s);
  const access: Record<string, unknown> = {
    sub: t.attributes.sub,
    ...(groups.length ? { 'cognito:groups': groups } : {}),
    iss: t.issuer,
    version: 2,
    client_id: t.clientId,
    origin_jti: origin,
    event_id: event,
    token_use: 'access',
    scope: [...scopes].join(' '),
    auth_time: now,
    exp: now + t.accessTtl,
    iat: now,
    jti: randomUUID(),
    username: t.username,
  };
  override(access, t.accessOverrides);
  const accessToken = signJwt(access);
  const { sub, identities, ...rest } = t.attributes;
  const profile = Object.fromEntries(Object.entries(rest).filter(([k]) => !k.startsWith('cognito:')));
  const id: Record<string, unknown> = {
    at_hash: createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url'),
    sub,
    ...(groups.length ? { 'cognito:groups': groups } : {}),
    ...profile,
    ...(profile.email_verified !== undefined ? { email_verified: profile.email_verified === 'true' } : {}),
    iss: t.issuer,
    'cognito:username': t.username,
    origin_jti: origin,
    aud: t.clientId,
    // The attribute is a JSON string; the ID token carries it parsed.
    ...(identities ? { identities: JSON.parse(identities) as unknown } : {}),
    event_id: event,
    token_use: 'id',
    auth_time: now,
    exp: now + t.idTtl,
    iat: now,
    jti: randomUUID(),
    ...(t.nonce ? { nonce: t.nonce } : {}),
  };
  override(id, t.idOverrides);
  // Cognito's refresh tokens are opaque (encrypted); this one is a random handle that is never redeemed here.
  return { access_token: accessToken, id_token: signJwt(id), refresh_token: randomUUID() + randomUUID(), token_type: 'Bearer', expires_in: t.accessTtl };
}
