import { z } from 'zod';
import { ROLES } from '../../lib/core/roles.js';
import {
  addProjectMember,
  createProject,
  deleteProject,
  deleteProjectRole,
  listProjectRoles,
  projectFor,
  projectForKeys,
  projectMembers,
  removeProjectMember,
  rolesOfProject,
  setProjectRole,
  updateProject,
  visibleProjects,
} from '../../lib/access/projects.js';
import { csvCell } from '../../lib/core/csv.js';
import { bulk } from '../../lib/access/jobs.js';
import { BULK_STATUS, bulkReply, selectionBody, selectionQuery } from '../bulk.js';
import { api, csvIds, csvRoles, idParam, link, noContent, ok, routed } from '../http.js';
import { numberedPage, nextQuery, pageNumber, pageSize } from '../paging.js';
import { projectMemberShape, projectRoleShape, projectShape } from '../shapes.js';
import { BulkAssigned, BulkUnassigned, JobStarted, Project, ProjectMember, ProjectRole, csvBody, cursorPage } from '../schemas.js';

const project = z.object({ id: idParam });
const fields = {
  title: z.string().trim().min(1).max(1000),
  description: z.string().max(10_000).nullable().optional(),
  workspace: z.number().int().positive().nullable().optional(),
  is_published: z.boolean().optional(),
  annotator_instructions: z.string().max(100_000).optional(),
  expert_instruction: z.string().max(100_000).optional(),
  reviewer_instructions: z.string().max(100_000).optional(),
};
type Fields = { title?: string; description?: string | null; workspace?: number | null; is_published?: boolean; annotator_instructions?: string; expert_instruction?: string; reviewer_instructions?: string };
/** LSE's field names to Roster's (`expert_instruction` is LSE's name for the annotator instructions). */
const input = ({ is_published, expert_instruction, annotator_instructions, ...rest }: Fields) => ({ ...rest, published: is_published, annotator_instructions: annotator_instructions ?? expert_instruction });
const cursorQuery = z.object({ page: pageNumber, cursor: z.string().max(64).optional(), page_size: pageSize().default(100) });

export const list = api({ responses: { 200: cursorPage(Project) }, query: cursorQuery }, async ({ principal, query, event, db }) => {
  const r = await numberedPage(query.page, query.cursor, (cursor) => visibleProjects(db, principal, { cursor, pageSize: query.page_size }));
  return ok({ next: r.next ? link(event, nextQuery(event.queryStringParameters, r.next)) : null, results: r.items.map((p) => projectShape(p)) });
});
export const create = api({ responses: { 201: Project }, body: z.object(fields) }, async ({ principal, body, db }) => {
  const created = await createProject(db, principal, { ...input(body), title: body.title });
  return ok(projectShape(created, { allowed: true, role: principal.role === 'OW' || principal.role === 'AD' ? principal.role : 'MA', implicit: false, reason: 'creator' }), 201);
});
export const get = api({ responses: { 200: Project }, params: project, prefetch: (at) => projectForKeys(at, at.params.id) }, async ({ principal, params, db }) => {
  const { project: p, access } = await projectFor(db, principal, params.id, 'project.read');
  return ok(projectShape(p, access));
});
export const update = api({ responses: { 200: Project }, params: project, body: z.object({ ...fields, title: fields.title.optional() }) }, async ({ principal, params, body, db }) => {
  const { project: p, access } = await updateProject(db, principal, params.id, input(body));
  return ok(projectShape(p, access));
});
export const remove = api({ responses: { 204: null }, params: project }, async ({ principal, params, db }) => {
  await deleteProject(db, principal, params.id);
  return noContent();
});

const memberQuery = z.object({
  implicit: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  role: csvRoles.optional(),
  search: z.string().trim().max(256).optional(),
  ids: csvIds.optional(),
  page: pageNumber,
  cursor: z.string().max(64).optional(),
  page_size: pageSize().default(100),
});

/** GET …/members/: the direct members (LSE answers a plain array of users). */
export const members = api({ responses: { 200: z.array(ProjectMember) }, params: project }, async ({ principal, params, db }) => {
  const all = [];
  let cursor: string | undefined;
  do {
    const page = await projectMembers(db, principal, params.id, { implicit: false, cursor, pageSize: 1000 });
    all.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return ok(all.map(projectMemberShape));
});
export const membersPage = api({ responses: { 200: z.strictObject({ next: z.string().nullable(), previous: z.null(), results: z.array(ProjectMember) }) }, params: project, query: memberQuery }, async ({ principal, params, query, event, db }) => {
  const { page, page_size, cursor, ...filters } = query;
  const r = await numberedPage(page, cursor, (c) => projectMembers(db, principal, params.id, { ...filters, cursor: c, pageSize: page_size }));
  return ok({ next: r.next ? link(event, nextQuery(event.queryStringParameters, r.next)) : null, previous: null, results: r.items.map(projectMemberShape) });
});
export const addMember = api({ responses: { 201: z.strictObject({ user: z.number().int() }) }, params: project, body: z.object({ user: z.number().int().positive() }) }, async ({ principal, params, body, db }) => {
  await addProjectMember(db, principal, params.id, body.user);
  return ok({ user: body.user }, 201);
});
export const removeMember = api({ responses: { 204: null }, params: project, query: z.object({ user: idParam }) }, async ({ principal, params, query, db }) => {
  await removeProjectMember(db, principal, params.id, query.user);
  return noContent();
});

export const roles = api({ responses: { 200: z.array(ProjectRole) }, query: z.object({ ids: csvIds.optional() }) }, async ({ principal, query, db }) =>
  ok((await listProjectRoles(db, principal, query.ids)).map(projectRoleShape)),
);
export const setRole = api({ responses: { 201: ProjectRole }, body: z.object({ project: z.number().int().positive(), user: z.number().int().positive(), role: z.enum(ROLES) }) }, async ({ principal, body, db }) =>
  ok(projectRoleShape(await setProjectRole(db, principal, body)), 201),
);
export const deleteRole = api({ responses: { 204: null }, params: project }, async ({ principal, params, db }) => {
  await deleteProjectRole(db, principal, params.id);
  return noContent();
});
export const projectRoles = api({ responses: { 200: z.array(ProjectRole) }, params: project }, async ({ principal, params, db }) => ok((await rolesOfProject(db, principal, params.id)).map(projectRoleShape)));

const COLUMNS = ['id', 'email', 'username', 'first_name', 'last_name', 'organization_role', 'project_role', 'effective_role', 'implicit_member'];

/** GET …/members/export/: the members as CSV (`implicit=false` for direct members only), read page by page. */
export const exportMembers = api({ responses: { 200: csvBody('the members, one row each') }, params: project, query: memberQuery.omit({ page: true, cursor: true, page_size: true }) }, async ({ principal, params, query, db }) => {
  const lines = [COLUMNS.join(',')];
  let cursor: string | undefined;
  do {
    const page = await projectMembers(db, principal, params.id, { ...query, cursor, pageSize: 1000 });
    for (const v of page.items) {
      const u = v.membership.user;
      lines.push([u.id, u.email, u.username, u.first_name, u.last_name, v.membership.role, v.projectRole?.role, v.access.allowed ? v.access.role : '', v.implicit].map(csvCell).join(','));
    }
    cursor = page.next;
  } while (cursor);
  return {
    statusCode: 200,
    headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="project-${params.id}-members.csv"` },
    body: `${lines.join('\r\n')}\r\n`,
  };
});

/** POST …/members/bulk/ {all, included, excluded}; past 99 people it runs as a job (202). */
export const bulkAssign = api({ status: BULK_STATUS, responses: { 200: BulkAssigned, 202: JobStarted }, params: project, body: selectionBody }, async ({ principal, params, body, event, db }) => {
  await projectFor(db, principal, params.id, 'project.members.manage');
  return bulkReply(await bulk(db, principal, 'project.assign', params.id, body, { deferredStatus: BULK_STATUS[1] }), 'assignments', event);
});

/** DELETE …/members/bulk/?all=&included=&excluded=: direct memberships only (implicit ones stay). */
export const bulkUnassign = api({ status: BULK_STATUS, responses: { 200: BulkUnassigned, 202: JobStarted }, params: project, query: selectionQuery }, async ({ principal, params, query, event, db }) => {
  await projectFor(db, principal, params.id, 'project.members.manage');
  return bulkReply(await bulk(db, principal, 'project.unassign', params.id, query, { deferredStatus: BULK_STATUS[1] }), 'unassignments', event);
});

/** The Lambda handler of this module's routes (see functions/routes.ts). */
export const handler = routed('projects/index', { addMember, bulkAssign, bulkUnassign, create, deleteRole, exportMembers, get, list, members, membersPage, projectRoles, remove, removeMember, roles, setRole, update });
