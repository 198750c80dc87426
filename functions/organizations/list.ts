import { z } from 'zod';
import { listOrganizations, membershipsOf } from '../../lib/org/organizations.js';
import { api, ok } from '../http.js';
import { organizationIdShape } from '../shapes.js';
import { OrganizationId } from '../schemas.js';

// The caller's memberships Query starts beside the caller's own BatchGetItem.
export const handler = api({ responses: { 200: z.array(OrganizationId) }, alongside: (db, c) => membershipsOf(db, c.userId) }, async ({ principal, db, early }) =>
  ok((await listOrganizations(db, principal, Promise.resolve(early))).map(organizationIdShape)),
);
