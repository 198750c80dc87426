import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { verifyAccessToken } from '../lib/identity/access-tokens.js';
import { type AuthContext, type Verifiers, authenticate } from '../lib/identity/auth.js';
import { cognitoConfigFromEnv, cognitoVerifier } from '../lib/identity/cognito.js';
import { db } from '../lib/core/db.js';
import { AuthenticationError } from '../lib/core/errors.js';
import { signingKey } from '../lib/identity/signing-key.js';
import { recordSecurityEvent, recordSignIn } from '../lib/identity/security.js';
import { logger } from './http.js';

let verifiers: Verifiers | undefined;
const verifiersOf = (): Verifiers => {
  if (verifiers) return verifiers;
  const cognito = cognitoConfigFromEnv();
  verifiers = { access: async (jwt) => verifyAccessToken(await signingKey(), jwt), cognito: cognito && cognitoVerifier(cognito) };
  return verifiers;
};

const requestOf = (event: APIGatewayRequestAuthorizerEventV2) => ({
  ip: event.requestContext?.http?.sourceIp ?? null,
  user_agent: event.headers?.['user-agent'] ?? null,
  method: event.requestContext?.http?.method ?? null,
  path: event.rawPath ?? null,
  request_id: event.requestContext?.requestId ?? null,
});

/**
 * HTTP API Lambda authorizer (simple responses, no result cache: membership is read fresh on every
 * request). HTTP APIs cannot shape an authorizer's refusal, so a refusal is passed on as context and
 * the route's handler answers it with LSE's `401 {"detail": …}` (routes that take no credential,
 * such as the token refresh, ignore it); a verified caller passes its ids, role and overrides.
 * A Cognito session's first request records its sign-in; a refused credential records a failed
 * authentication (rate-limited per address).
 */
export async function handler(event: APIGatewayRequestAuthorizerEventV2): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthContext>> {
  try {
    const p = await authenticate(db(), event.headers?.authorization, verifiersOf());
    if (p.signIn) {
      await recordSignIn(db(), p.signIn.session, p.signIn.expires, { action: 'auth.sign_in', organization: p.orgId, actor_id: p.userId, actor_email: p.email ?? null, ...requestOf(event), status: null });
    }
    return { isAuthorized: true, context: { userId: p.userId, orgId: p.orgId, role: p.role, via: p.via, overrides: JSON.stringify(p.overrides), email: p.email ?? '' } };
  } catch (err) {
    if (!(err instanceof AuthenticationError)) throw err;
    if (event.headers?.authorization) {
      logger.info('authentication refused', { reason: err.detail, path: event.rawPath });
      const who = (err as AuthenticationError & { who?: { userId: number; orgId: number; email?: string } }).who;
      const req = requestOf(event);
      await recordSecurityEvent(db(), `auth#${req.ip ?? 'unknown'}`, {
        action: 'auth.failed',
        organization: who?.orgId ?? null,
        actor_id: who?.userId ?? null,
        actor_email: who?.email ?? null,
        ...req,
        status: 401,
        detail: err.detail,
      });
    }
    return { isAuthorized: true, context: { error: err.detail } };
  }
}
