import { z } from 'zod';
import { transferOwnership } from '../../lib/org/organizations.js';
import { api, idParam, ok } from '../http.js';
import { memberShape } from '../shapes.js';
import { Member } from '../schemas.js';

const body = z.object({ user_id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

/** Roster's addition (LSE needs a support ticket): the Owner hands the organization over. */
export const handler = api({ status: 200, responses: { 200: Member }, params: z.object({ id: idParam }), body }, async ({ principal, params, body, db }) =>
  ok(memberShape(await transferOwnership(db, principal, params.id, body.user_id))),
);
