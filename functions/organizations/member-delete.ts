import { z } from 'zod';
import { directory } from '../../lib/identity/directory.js';
import { deleteMember } from '../../lib/org/organizations.js';
import { api, idParam, noContent } from '../http.js';

export const handler = api({ responses: { 204: null }, params: z.object({ id: idParam, user_pk: idParam }) }, async ({ principal, params, db }) => {
  await deleteMember(db, principal, params.id, params.user_pk, directory());
  return noContent();
});
