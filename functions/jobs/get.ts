import { z } from 'zod';
import { getJob } from '../../lib/access/jobs.js';
import { api, ok } from '../http.js';

/** GET /api/jobs/{id}: the status of a bulk change that went asynchronous (202). */
export const handler = api({ params: z.object({ id: z.uuid() }) }, async ({ principal, params, db }) => ok(await getJob(db, principal, params.id)));
