import { z } from 'zod';
import { getOrganization, organizationKeys } from '../../lib/org/organizations.js';
import { api, idParam, ok } from '../http.js';
import { organizationShape } from '../shapes.js';
import { Organization } from '../schemas.js';

export const handler = api(
  { responses: { 200: Organization }, params: z.object({ id: idParam }), prefetch: (at) => organizationKeys(at, at.params.id) },
  async ({ principal, params, db }) => {
    const { organization, standing } = await getOrganization(db, principal, params.id);
    return ok(organizationShape(organization, standing));
  },
);
