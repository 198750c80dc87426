import { z } from 'zod';
import { createScimToken, listScimTokens, revokeScimToken } from '../../lib/federation/scim/tokens.js';
import { api, noContent, ok, routed } from '../http.js';
import { ScimToken, ScimTokenCreated } from '../schemas.js';

/** GET /api/scim/tokens: the organization's SCIM tokens, without their secrets (Owner, Administrator). */
export const list = api({ responses: { 200: z.array(ScimToken) }, summary: 'List SCIM tokens (no secrets)' }, async ({ principal, db }) => ok(await listScimTokens(db, principal)));

/** POST /api/scim/tokens: a new SCIM token, shown this once. */
export const create = api({ responses: { 201: ScimTokenCreated }, summary: 'Create a SCIM token (shown once)' }, async ({ principal, db }) => ok(await createScimToken(db, principal), 201));

/** DELETE /api/scim/tokens/{id}: revoked at once. */
export const revoke = api({ params: z.object({ id: z.string().regex(/^[0-9a-f]{16}$/) }), responses: { 204: null }, summary: 'Revoke a SCIM token' }, async ({ principal, params, db }) => {
  await revokeScimToken(db, principal, params.id);
  return noContent();
});

export const handler = routed('scim/tokens', { list, create, revoke });
