import { z } from 'zod';
import { foundOrganization } from '../../lib/org/organizations.js';
import { api, ok } from '../http.js';
import { organizationIdShape } from '../shapes.js';
import { OrganizationId } from '../schemas.js';

const body = z.object({ title: z.string().trim().min(1).max(1000) });

/** Roster's addition: a signed-in user founds an organization and becomes its Owner. */
export const handler = api({ responses: { 201: OrganizationId }, body }, async ({ principal, body, db }) => ok(organizationIdShape(await foundOrganization(db, principal, body.title)), 201));
