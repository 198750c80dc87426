import { z } from 'zod';
import { directory } from '../../lib/identity/directory.js';
import { createUser } from '../../lib/org/users.js';
import { api, ok } from '../http.js';
import { userShape } from '../shapes.js';
import { userPatch } from './patch-body.js';
import { User } from '../schemas.js';

/** LSE's LseUserRequest: the editable user fields, plus the email that identifies the user. */
const body = userPatch.omit({ active_organization: true }).extend({ email: z.email().max(254) });

export const handler = api({ responses: { 201: User }, body }, async ({ principal, body, db }) => {
  const { user, membership } = await createUser(db, principal, body, directory());
  return ok(userShape(user, [membership]), 201);
});
