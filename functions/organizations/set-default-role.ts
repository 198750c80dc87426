import { z } from 'zod';
import { setDefaultRole } from '../../lib/org/organizations.js';
import { api, idParam, ok, roleField } from '../http.js';
import { defaultRoleShape } from '../shapes.js';
import { DefaultRole } from '../schemas.js';

export const handler = api({ responses: { 200: DefaultRole }, params: z.object({ id: idParam }), body: z.object({ default_role: roleField }) }, async ({ principal, params, body, db }) =>
  ok(defaultRoleShape(await setDefaultRole(db, principal, params.id, body.default_role))),
);
