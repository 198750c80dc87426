import { z } from 'zod';
import { getOrganization } from '../../lib/org/organizations.js';
import { api, idParam, ok } from '../http.js';
import { organizationShape } from '../shapes.js';
import { Organization } from '../schemas.js';

export const handler = api({ responses: { 200: Organization }, params: z.object({ id: idParam }) }, async ({ principal, params, db }) => {
  const { organization, standing } = await getOrganization(db, principal, params.id);
  return ok(organizationShape(organization, standing));
});
