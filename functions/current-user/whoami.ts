import { currentUser } from '../../lib/org/users.js';
import { api, ok } from '../http.js';
import { whoamiShape } from '../shapes.js';
import { WhoAmI } from '../schemas.js';

export const handler = api({ responses: { 200: WhoAmI } }, async ({ principal, db }) => {
  const { user, memberships, organization } = await currentUser(db, principal);
  return ok(whoamiShape(user, memberships, principal, organization));
});
