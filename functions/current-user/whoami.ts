import { currentUser } from '../../lib/org/users.js';
import { api, ok } from '../http.js';
import { whoamiShape } from '../shapes.js';

export const handler = api({}, async ({ principal, db }) => {
  const { user, memberships, organization } = await currentUser(db, principal);
  return ok(whoamiShape(user, memberships, principal, organization));
});
