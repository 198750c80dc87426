import { directory } from '../../lib/identity/directory.js';
import { updateUser } from '../../lib/org/users.js';
import { userPatch } from '../users/patch-body.js';
import { api, ok } from '../http.js';
import { userShape } from '../shapes.js';
import { User } from '../schemas.js';

export const handler = api({ responses: { 200: User }, body: userPatch }, async ({ principal, body, db }) => {
  const { user, memberships } = await updateUser(db, principal, principal.userId, body, directory());
  // As GET /api/current-user: the organization this request acts in, unless it just switched.
  return ok(userShape({ ...user, active_organization: body.active_organization ?? principal.orgId }, memberships));
});
