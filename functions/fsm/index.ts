import { z } from 'zod';
import { type HistoryQuery, listHistory, requireLogReader, requireScope, stateView } from '../../lib/activity-log.js';
import { ForbiddenError } from '../../lib/errors.js';
import type { HistoryStream } from '../../lib/table.js';
import { type ApiEvent, api, idParam, link, ok, routed } from '../http.js';

const query = z.object({
  since: z.string().max(64).optional(),
  until: z.string().max(64).optional(),
  user_id: idParam.optional(),
  source: z.enum(['api', 'billing', 'ldap', 'manual', 'saml', 'scim', 'invite', 'system', 'access_review']).optional(),
  user_type: z.enum(['flex', 'service', 'standard', 'viewonly']).optional(),
  ordering: z.enum(['created_at', '-created_at']).default('-created_at'),
  page: z.coerce.number().int().min(1).default(1),
  page_size: z.coerce.number().int().min(1).max(1000).default(100),
});
type Query = z.output<typeof query>;

/** LSE's PaginatedStateModelList of one history. */
async function page(input: { db: Parameters<typeof listHistory>[0]; event: ApiEvent; query: Query }, orgId: number, stream: HistoryStream, scope: number) {
  const q = input.query;
  const { user_type, page: n, page_size, ...rest } = q;
  // Every Roster user is a standard user.
  const none = user_type !== undefined && user_type !== 'standard';
  const h: HistoryQuery = { ...rest, offset: (n - 1) * page_size, limit: page_size };
  const { items, count } = none ? { items: [], count: 0 } : await listHistory(input.db, orgId, stream, scope, h);
  const at = (p: number) => link(input.event, { ...q, page: p });
  return ok({ count, next: n * page_size < count ? at(n + 1) : null, previous: n > 1 ? at(n - 1) : null, results: items.map(stateView) });
}

const org = z.object({ org_id: idParam });
const ws = z.object({ workspace_id: idParam });
const project = z.object({ project_id: idParam });

export const organizationMemberships = api({ params: org, query }, async (input) => {
  requireLogReader(input.principal);
  // Scoped to the active organization, as in LSE.
  if (input.params.org_id !== input.principal.orgId) throw new ForbiddenError();
  return page(input, input.principal.orgId, 'org_membership', input.params.org_id);
});

export const workspaceMemberships = api({ params: ws, query }, async (input) => {
  await requireScope(input.db, input.principal, 'workspace', input.params.workspace_id);
  return page(input, input.principal.orgId, 'ws_membership', input.params.workspace_id);
});

export const projectMemberships = api({ params: project, query }, async (input) => {
  await requireScope(input.db, input.principal, 'project', input.params.project_id);
  return page(input, input.principal.orgId, 'project_membership', input.params.project_id);
});

export const projectRoles = api({ params: project, query }, async (input) => {
  await requireScope(input.db, input.principal, 'project', input.params.project_id);
  return page(input, input.principal.orgId, 'project_role', input.params.project_id);
});

export const handler = routed('fsm/index', { organizationMemberships, workspaceMemberships, projectMemberships, projectRoles });
