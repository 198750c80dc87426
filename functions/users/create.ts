import { z } from 'zod';
import { directory } from '../../lib/directory.js';
import { createUser } from '../../lib/users.js';
import { api, ok } from '../http.js';
import { userShape } from '../shapes.js';

const text = z.string().max(256);
const body = z.object({
  email: z.email().max(254),
  username: text.min(1).optional(),
  first_name: text.optional(),
  last_name: text.optional(),
  phone: text.optional(),
  allow_newsletters: z.boolean().nullable().optional(),
  password: z.string().min(8).max(256).optional(),
});

export const handler = api({ body }, async ({ principal, body, db }) => {
  const { user, membership } = await createUser(db, principal, body, directory());
  return ok(userShape(user, [membership]), 201);
});
