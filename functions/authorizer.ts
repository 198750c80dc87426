import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { type AuthContext, authenticate } from '../lib/auth.js';
import { db } from '../lib/db.js';
import { AuthenticationError } from '../lib/errors.js';
import { logger } from './http.js';

/**
 * HTTP API Lambda authorizer (simple responses, no result cache: membership is read fresh on every
 * request). HTTP APIs cannot shape an authorizer's refusal, so a refusal is passed on as context and
 * the route's handler answers it with LSE's `401 {"detail": …}`; a verified caller passes its ids.
 */
export async function handler(event: APIGatewayRequestAuthorizerEventV2): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthContext>> {
  try {
    const p = await authenticate(db(), event.headers?.authorization);
    return { isAuthorized: true, context: { userId: p.userId, orgId: p.orgId, role: p.role, via: p.via } };
  } catch (err) {
    if (!(err instanceof AuthenticationError)) throw err;
    logger.info('authentication refused', { reason: err.detail, path: event.rawPath });
    return { isAuthorized: true, context: { error: err.detail } };
  }
}
