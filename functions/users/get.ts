import { z } from 'zod';
import { getUser } from '../../lib/org/users.js';
import { api, idParam, ok } from '../http.js';
import { userShape } from '../shapes.js';
import { User } from '../schemas.js';

export const handler = api({ responses: { 200: User }, params: z.object({ id: idParam }) }, async ({ principal, params, db }) => {
  const { user, memberships } = await getUser(db, principal, params.id);
  return ok(userShape(user, memberships));
});
