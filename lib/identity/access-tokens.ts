import { SignJWT, jwtVerify } from 'jose';
import { AuthenticationError } from '../core/errors.js';

/** Lifetime of an access token obtained from a personal access token (LSE: about 5 minutes). */
export const ACCESS_TOKEN_SECONDS = 300;
export const ISSUER = 'roster';
const AUDIENCE = 'roster-api';

export interface AccessClaims {
  userId: number;
  orgId: number;
  /** Hash of the personal access token it came from: blacklisting that token kills this one too. */
  patHash: string;
}

export async function signAccessToken(key: Uint8Array, claims: AccessClaims): Promise<string> {
  return new SignJWT({ org: claims.orgId, pat: claims.patHash, token_type: 'access' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(claims.userId))
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setJti(crypto.randomUUID())
    .setExpirationTime(`${ACCESS_TOKEN_SECONDS}s`)
    .sign(key);
}

export async function verifyAccessToken(key: Uint8Array, jwt: string): Promise<AccessClaims> {
  try {
    const { payload } = await jwtVerify(jwt, key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
    const userId = Number(payload.sub);
    const orgId = Number(payload.org);
    if (payload.token_type !== 'access' || !Number.isInteger(userId) || !Number.isInteger(orgId) || typeof payload.pat !== 'string') throw new Error('claims');
    return { userId, orgId, patHash: payload.pat };
  } catch {
    throw new AuthenticationError('Given token not valid for any token type');
  }
}

/** The issuer of a JWT, read without verifying it (only to choose the verifier). */
export function unverifiedIssuer(jwt: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof payload.iss === 'string' ? payload.iss : undefined;
  } catch {
    return undefined;
  }
}
