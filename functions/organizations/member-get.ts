import { z } from 'zod';
import { getMember } from '../../lib/org/organizations.js';
import { api, idParam, ok } from '../http.js';
import { memberDetailShape } from '../shapes.js';
import { MemberDetail } from '../schemas.js';

export const handler = api({ responses: { 200: MemberDetail }, params: z.object({ id: idParam, user_pk: idParam }) }, async ({ principal, params, db }) =>
  ok(memberDetailShape(await getMember(db, principal, params.id, params.user_pk))),
);
