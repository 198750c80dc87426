import { z } from 'zod';
import { updateOrganization } from '../../lib/org/organizations.js';
import { api, idParam, ok } from '../http.js';
import { organizationShape } from '../shapes.js';
import { Organization } from '../schemas.js';

const body = z.object({
  title: z.string().trim().min(1).max(1000).optional(),
  contact_info: z.email().max(254).nullable().optional(),
  activity_log_retention_days: z.number().int().min(1).max(36_500).nullable().optional(),
});

export const handler = api({ responses: { 200: Organization }, params: z.object({ id: idParam }), body }, async ({ principal, params, body, db }) => {
  const { organization, standing } = await updateOrganization(db, principal, params.id, body);
  return ok(organizationShape(organization, standing));
});
