import { z } from 'zod';
import { listUsers } from '../../lib/org/users.js';
import { api, ok } from '../http.js';
import { userShape } from '../shapes.js';
import { User } from '../schemas.js';

export const handler = api({ responses: { 200: z.array(User) } }, async ({ principal, db }) =>
  ok((await listUsers(db, principal)).map(({ user, membership }) => userShape({ ...user, active_organization: membership.organization }, [membership]))),
);
