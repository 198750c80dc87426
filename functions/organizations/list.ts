import { listOrganizations } from '../../lib/org/organizations.js';
import { api, ok } from '../http.js';
import { organizationIdShape } from '../shapes.js';

export const handler = api({}, async ({ principal, db }) => ok((await listOrganizations(db, principal)).map(organizationIdShape)));
