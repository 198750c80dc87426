import { directory } from '../../lib/directory.js';
import { updateUser } from '../../lib/users.js';
import { userPatch } from '../users/patch-body.js';
import { api, ok } from '../http.js';
import { userShape } from '../shapes.js';

export const handler = api({ body: userPatch }, async ({ principal, body, db }) => {
  const { user, memberships } = await updateUser(db, principal, principal.userId, body, directory());
  return ok(userShape(user, memberships));
});
