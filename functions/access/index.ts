import { z } from 'zod';
import { ACTIONS, type Action } from '../../lib/core/permissions.js';
import { accessibleProjects, checkAccess } from '../../lib/access/projects.js';
import { api, idParam, link, ok, routed } from '../http.js';
import { pageSize } from '../paging.js';
import { projectShape } from '../shapes.js';

const check = z
  .object({
    user_id: z.number().int().positive(),
    action: z.enum(ACTIONS as [Action, ...Action[]]),
    project_id: z.number().int().positive().optional(),
    workspace_id: z.number().int().positive().optional(),
  })
  .refine((c) => (c.project_id === undefined) !== (c.workspace_id === undefined), { message: 'Give exactly one of project_id and workspace_id.' });

/** POST /api/access/check: one check, or `{checks: [...]}` (up to 100) → `{results: [...]}`. */
export const checkOne = api({ status: 200, body: z.union([check, z.object({ checks: z.array(check).min(1).max(100) })]) }, async ({ principal, body, db }) => {
  if ('checks' in body) return ok({ results: await Promise.all(body.checks.map((c) => checkAccess(db, principal, c))) });
  return ok(await checkAccess(db, principal, body));
});

/** GET /api/users/{id}/accessible-projects: cursor-paginated, in project id order. */
export const accessible = api(
  { params: z.object({ id: idParam }), query: z.object({ cursor: z.string().max(64).optional(), page_size: pageSize().default(100) }) },
  async ({ principal, params, query, event, db }) => {
    const r = await accessibleProjects(db, principal, params.id, { cursor: query.cursor, pageSize: query.page_size });
    return ok({ next: r.next ? link(event, { page_size: query.page_size, cursor: r.next }) : null, results: r.items.map((p) => projectShape(p)) });
  },
);

/** The Lambda handler of this module's routes (see functions/routes.ts). */
export const handler = routed('access/index', { accessible, checkOne });
