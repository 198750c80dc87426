import { z } from 'zod';
import { getJob } from '../../lib/access/jobs.js';
import { api, ok } from '../http.js';
import { Job } from '../schemas.js';

/** GET /api/jobs/{id}: the status of a bulk change that went asynchronous (202). */
export const handler = api({ responses: { 200: Job }, params: z.object({ id: z.uuid() }) }, async ({ principal, params, db }) => ok(await getJob(db, principal, params.id)));
