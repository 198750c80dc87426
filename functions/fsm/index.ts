import { z } from 'zod';
import { type HistoryQuery, listHistory, stateView } from '../../lib/audit/activity-log.js';
import type { HistoryStream } from '../../lib/core/table.js';
import { api, idParam, link, ok, routed } from '../http.js';
import { StatePage } from '../schemas.js';
import { pageNumber, pageSize } from '../paging.js';

const query = z.object({
  since: z.string().max(64).optional(),
  until: z.string().max(64).optional(),
  user_id: idParam.optional(),
  source: z.enum(['api', 'billing', 'ldap', 'manual', 'saml', 'scim', 'invite', 'system', 'access_review']).optional(),
  user_type: z.enum(['flex', 'service', 'standard', 'viewonly']).optional(),
  ordering: z.enum(['created_at', '-created_at']).default('-created_at'),
  page: pageNumber,
  page_size: pageSize().default(100),
});

/**
 * One history route: LSE's PaginatedStateModelList of the stream for the organization, workspace
 * or project named by the path parameter (lib/audit/activity-log.ts decides who may read which).
 */
function history(param: 'org_id' | 'workspace_id' | 'project_id', stream: HistoryStream) {
  return api({ responses: { 200: StatePage }, params: z.object({ [param]: idParam }), query }, async ({ principal, params, query: q, event, db }) => {
    const { user_type, page: n, page_size, ...rest } = q;
    const scope = (params as Record<string, number>)[param]!;
    const h: HistoryQuery = { ...rest, page: n, pageSize: page_size };
    const found = await listHistory(db, principal, stream, scope, h);
    // Every Roster user is a standard user.
    const { items, count } = user_type !== undefined && user_type !== 'standard' ? { items: [], count: 0 } : found;
    const at = (p: number) => link(event, { ...q, page: p });
    return ok({ count, next: n * page_size < count ? at(n + 1) : null, previous: n > 1 ? at(n - 1) : null, results: items.map(stateView) });
  });
}

export const organizationMemberships = history('org_id', 'org_membership');
export const workspaceMemberships = history('workspace_id', 'ws_membership');
export const projectMemberships = history('project_id', 'project_membership');
export const projectRoles = history('project_id', 'project_role');

export const handler = routed('fsm/index', { organizationMemberships, workspaceMemberships, projectMemberships, projectRoles });
