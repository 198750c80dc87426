import { z } from 'zod';
import { listOrganizations } from '../../lib/org/organizations.js';
import { api, ok } from '../http.js';
import { organizationIdShape } from '../shapes.js';
import { OrganizationId } from '../schemas.js';

export const handler = api({ responses: { 200: z.array(OrganizationId) } }, async ({ principal, db }) => ok((await listOrganizations(db, principal)).map(organizationIdShape)));
