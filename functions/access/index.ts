import { z } from 'zod';
import { ACTIONS, type Action } from '../../lib/core/permissions.js';
import { accessibleProjects, accessibleProjectsKeys, checkAccess, checkKeys } from '../../lib/access/projects.js';
import { MAX_PREFETCH } from '../../lib/identity/auth.js';
import { api, idParam, link, ok, routed } from '../http.js';
import { numberedPage, nextQuery, pageNumber, pageSize } from '../paging.js';
import { projectShape } from '../shapes.js';
import { CheckResults, Project, cursorPage } from '../schemas.js';

const check = z
  .object({
    user_id: z.number().int().positive(),
    action: z.enum(ACTIONS as [Action, ...Action[]]),
    project_id: z.number().int().positive().optional(),
    workspace_id: z.number().int().positive().optional(),
  })
  .refine((c) => (c.project_id === undefined) !== (c.workspace_id === undefined), { message: 'Give exactly one of project_id and workspace_id.' });

/** The body of POST /api/access/check: one check, or `{checks: [...]}` (up to 100). */
export const checkBody = z.union([check, z.object({ checks: z.array(check).min(1).max(100) })]);

/**
 * POST /api/access/check: one check, or `{checks: [...]}` (up to 100) → `{results: [...]}`. What the
 * checks read first comes with the caller (up to MAX_PREFETCH keys: four checks; a larger batch reads per check).
 */
export const checkOne = api(
  {
    status: 200,
    responses: { 200: CheckResults },
    body: checkBody,
    prefetch: ({ body, ...caller }) => {
      const wanted = ('checks' in body ? body.checks : [body]).flatMap((c) => checkKeys(caller, c));
      return wanted.length <= MAX_PREFETCH ? wanted : [];
    },
  },
  async ({ principal, body, db }) => {
  if ('checks' in body) return ok({ results: await Promise.all(body.checks.map((c) => checkAccess(db, principal, c))) });
  return ok(await checkAccess(db, principal, body));
  },
);

/** GET /api/users/{id}/accessible-projects: cursor-paginated, in project id order. */
export const accessible = api(
  {
    responses: { 200: cursorPage(Project) },
    params: z.object({ id: idParam }),
    query: z.object({ page: pageNumber, cursor: z.string().max(64).optional(), page_size: pageSize().default(100) }),
    prefetch: (at) => accessibleProjectsKeys(at, at.params.id),
  },
  async ({ principal, params, query, event, db }) => {
    const r = await numberedPage(query.page, query.cursor, (cursor) => accessibleProjects(db, principal, params.id, { cursor, pageSize: query.page_size }));
    return ok({ next: r.next ? link(event, nextQuery(event.queryStringParameters, r.next)) : null, results: r.items.map((p) => projectShape(p)) });
  },
);

/** The Lambda handler of this module's routes (see functions/routes.ts). */
export const handler = routed('access/index', { accessible, checkOne });
