import { z } from 'zod';
import { signingKey } from '../../lib/identity/signing-key.js';
import { blacklistPat, createPat, listPats, refreshAccess, rotatePat } from '../../lib/org/tokens.js';
import { api, noContent, ok, routed } from '../http.js';
import { Access, Pat, Refresh } from '../schemas.js';

const refreshBody = z.object({ refresh: z.string().min(1).max(512) });

/** GET /api/token/: the caller's personal access tokens (masked). */
export const list = api({ responses: { 200: z.array(Pat) } }, async ({ principal, db }) => ok(await listPats(db, principal)));

/** POST /api/token/: a new personal access token, shown this once. */
export const create = api({ responses: { 201: Pat } }, async ({ principal, db }) => ok(await createPat(db, principal), 201));

/** POST /api/token/refresh/ {refresh}: the personal access token is the credential. */
export const refresh = api({ status: 200, responses: { 200: Access }, body: refreshBody, auth: 'none' }, async ({ body, db }) => ok(await refreshAccess(db, body.refresh, await signingKey())));

/** POST /api/token/rotate/ {refresh} → {refresh}. */
export const rotate = api({ status: 200, responses: { 200: Refresh }, body: refreshBody }, async ({ principal, body, db }) => ok(await rotatePat(db, principal, body.refresh)));

/** POST /api/token/blacklist/ {refresh} → 204. */
export const blacklist = api({ status: 204, responses: { 204: null }, body: refreshBody }, async ({ principal, body, db }) => {
  await blacklistPat(db, principal, body.refresh);
  return noContent();
});

/** The Lambda handler of this module's routes (see functions/routes.ts). */
export const handler = routed('token/index', { blacklist, create, list, refresh, rotate });
