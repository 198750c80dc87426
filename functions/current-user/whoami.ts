import { membershipsOf } from '../../lib/org/organizations.js';
import { currentUser, currentUserKeys } from '../../lib/org/users.js';
import { api, ok } from '../http.js';
import { whoamiShape } from '../shapes.js';
import { WhoAmI } from '../schemas.js';

// The user record comes with the caller's membership; the memberships Query starts beside it.
export const handler = api(
  { responses: { 200: WhoAmI }, prefetch: currentUserKeys, alongside: (db, c) => membershipsOf(db, c.userId) },
  async ({ principal, db, early }) => {
    const { user, memberships, organization } = await currentUser(db, principal, Promise.resolve(early));
    return ok(whoamiShape(user, memberships, principal, organization));
  },
);
