import { z } from 'zod';
import { directory } from '../../lib/identity/directory.js';
import { updateUser } from '../../lib/org/users.js';
import { api, idParam, ok } from '../http.js';
import { userShape } from '../shapes.js';
import { userPatch } from './patch-body.js';
import { User } from '../schemas.js';

export const handler = api({ responses: { 200: User }, params: z.object({ id: idParam }), body: userPatch }, async ({ principal, params, body, db }) => {
  const { user, memberships } = await updateUser(db, principal, params.id, body, directory());
  return ok(userShape(user, params.id === principal.userId ? memberships : memberships.filter((m) => m.organization === principal.orgId)));
});
