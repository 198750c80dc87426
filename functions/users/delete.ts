import { z } from 'zod';
import { directory } from '../../lib/identity/directory.js';
import { deleteMember } from '../../lib/org/organizations.js';
import { api, idParam, noContent } from '../http.js';

/** Roster's DELETE /api/users/{id}/ removes the user from the caller's organization (soft delete); users themselves are never destroyed. */
export const handler = api({ responses: { 204: null }, params: z.object({ id: idParam }) }, async ({ principal, params, db }) => {
  await deleteMember(db, principal, principal.orgId, params.id, directory());
  return noContent();
});
