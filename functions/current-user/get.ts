import { currentUser } from '../../lib/org/users.js';
import { api, ok } from '../http.js';
import { userShape } from '../shapes.js';
import { User } from '../schemas.js';

export const handler = api({ responses: { 200: User } }, async ({ principal, db }) => {
  const { user, memberships } = await currentUser(db, principal);
  return ok(userShape(user, memberships));
});
