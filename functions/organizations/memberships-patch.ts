import { z } from 'zod';
import { directory } from '../../lib/identity/directory.js';
import { assignRole } from '../../lib/org/organizations.js';
import { api, idParam, ok, roleField } from '../http.js';
import { memberShape } from '../shapes.js';
import { Member } from '../schemas.js';

const body = z.object({
  user_id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  role: roleField,
  user_type: z.literal('standard').optional(),
});

export const handler = api({ responses: { 200: Member }, params: z.object({ id: idParam }), body }, async ({ principal, params, body, db }) =>
  ok(memberShape(await assignRole(db, principal, params.id, body.user_id, body.role, directory()))),
);
