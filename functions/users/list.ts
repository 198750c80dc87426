import { listUsers } from '../../lib/org/users.js';
import { api, ok } from '../http.js';
import { userShape } from '../shapes.js';

export const handler = api({}, async ({ principal, db }) =>
  ok((await listUsers(db, principal)).map(({ user, membership }) => userShape({ ...user, active_organization: membership.organization }, [membership]))),
);
