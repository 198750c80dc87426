import { z } from 'zod';
import { getTokenPolicy, setTokenPolicy } from '../../lib/org/tokens.js';
import { api, ok, routed } from '../http.js';
import { TokenPolicy } from '../schemas.js';

const body = z.object({
  api_tokens_enabled: z.boolean().optional(),
  legacy_api_tokens_enabled: z.boolean().optional(),
  api_token_ttl_days: z.number().int().min(1).max(73000),
});

/** GET /api/jwt/settings. */
export const get = api({ responses: { 200: TokenPolicy } }, async ({ principal, db }) => ok(await getTokenPolicy(db, principal)));

/** POST /api/jwt/settings: switching a token kind off makes its tokens fail on the next request. */
export const set = api({ responses: { 201: TokenPolicy }, body }, async ({ principal, body, db }) => ok(await setTokenPolicy(db, principal, body), 201));

/** The Lambda handler of this module's routes (see functions/routes.ts). */
export const handler = routed('jwt/settings', { get, set });
