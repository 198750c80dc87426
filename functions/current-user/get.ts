import { currentUser } from '../../lib/org/users.js';
import { api, ok } from '../http.js';
import { userShape } from '../shapes.js';

export const handler = api({}, async ({ principal, db }) => {
  const { user, memberships } = await currentUser(db, principal);
  return ok(userShape(user, memberships));
});
