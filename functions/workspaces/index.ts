import { z } from 'zod';
import { moveProject, removeProjectFromWorkspace } from '../../lib/access/projects.js';
import {
  addWorkspaceMember,
  createWorkspace,
  deleteWorkspace,
  listWorkspaceMembers,
  listWorkspaces,
  pageWorkspaceMembers,
  removeWorkspaceMember,
  updateWorkspace,
  workspaceFor,
  workspaceForKeys,
  workspaceProjects,
} from '../../lib/access/workspaces.js';
import { bulk } from '../../lib/access/jobs.js';
import { BULK_STATUS, bulkReply, selectionBody, selectionQuery } from '../bulk.js';
import { api, idParam, link, noContent, ok, routed } from '../http.js';
import { pageQuery } from '../paging.js';
import { memberUserShape, projectShape, workspaceShape } from '../shapes.js';
import { BulkAssigned, BulkUnassigned, JobStarted, Project, User, Workspace, WorkspaceMember, page } from '../schemas.js';

const ws = z.object({ id: idParam });
const fields = {
  title: z.string().trim().min(1).max(1000),
  description: z.string().max(10_000).nullable().optional(),
  color: z.string().max(16).nullable().optional(),
  is_archived: z.boolean().optional(),
  is_personal: z.boolean().optional(),
};
const userQuery = (name: string) => z.object({ [name]: idParam });

export const list = api({ responses: { 200: z.array(Workspace) } }, async ({ principal, db }) => ok((await listWorkspaces(db, principal)).map((w) => workspaceShape(w))));
export const create = api({ responses: { 201: Workspace }, body: z.object(fields) }, async ({ principal, body, db }) => ok(workspaceShape(await createWorkspace(db, principal, body), true), 201));
export const get = api({ responses: { 200: Workspace }, params: ws, prefetch: (at) => workspaceForKeys(at, at.params.id) }, async ({ principal, params, db }) => ok(workspaceShape(await workspaceFor(db, principal, params.id, 'workspace.read'))));
export const update = api({ responses: { 200: Workspace }, params: ws, body: z.object({ ...fields, title: fields.title.optional() }) }, async ({ principal, params, body, db }) =>
  ok(workspaceShape(await updateWorkspace(db, principal, params.id, body))),
);
export const remove = api({ responses: { 204: null }, params: ws }, async ({ principal, params, db }) => {
  await deleteWorkspace(db, principal, params.id);
  return noContent();
});

export const members = api({ responses: { 200: z.array(WorkspaceMember) }, params: ws }, async ({ principal, params, db }) =>
  ok((await listWorkspaceMembers(db, principal, params.id)).map((m) => ({ workspace: params.id, user: memberUserShape(m) }))),
);
export const addMember = api({ status: 200, responses: { 200: z.strictObject({ user: z.number().int(), workspace: z.number().int() }) }, params: ws, body: z.object({ user: z.number().int().positive() }) }, async ({ principal, params, body, db }) => {
  await addWorkspaceMember(db, principal, params.id, body.user);
  return ok({ user: body.user, workspace: params.id });
});
export const removeMember = api({ responses: { 204: null }, params: ws, query: userQuery('user_id') }, async ({ principal, params, query, db }) => {
  await removeWorkspaceMember(db, principal, params.id, query.user_id as number);
  return noContent();
});
export const membersPage = api({ responses: { 200: page(User) }, params: ws, query: pageQuery }, async ({ principal, params, query, event, db }) => {
  const { page, page_size, cursor } = query;
  const r = await pageWorkspaceMembers(db, principal, params.id, { page, pageSize: page_size, cursor });
  return ok({
    count: r.count,
    next: r.next ? link(event, { page: page + 1, page_size, cursor: r.next }) : null,
    previous: page > 1 ? link(event, { page: page - 1, page_size }) : null,
    results: r.items.map(memberUserShape),
  });
});

export const projects = api({ responses: { 200: z.array(Project) }, params: ws }, async ({ principal, params, db }) =>
  ok((await workspaceProjects(db, principal, params.id)).map((p) => projectShape(p))),
);
export const addProject = api({ responses: { 201: z.strictObject({ workspace: z.number().int(), project: z.number().int() }) }, params: ws, body: z.object({ project: z.number().int().positive() }) }, async ({ principal, params, body, db }) => {
  await moveProject(db, principal, params.id, body.project);
  return ok({ workspace: params.id, project: body.project }, 201);
});
export const removeProject = api({ responses: { 204: null }, params: ws, query: userQuery('project') }, async ({ principal, params, query, db }) => {
  await removeProjectFromWorkspace(db, principal, params.id, query.project as number);
  return noContent();
});

/** POST …/memberships/bulk/ {all, included, excluded}; past 99 people it runs as a job (202). */
export const bulkAssign = api({ status: BULK_STATUS, responses: { 200: BulkAssigned, 202: JobStarted }, params: ws, body: selectionBody }, async ({ principal, params, body, event, db }) => {
  await workspaceFor(db, principal, params.id, 'workspace.members.manage');
  return bulkReply(await bulk(db, principal, 'workspace.assign', params.id, body, { deferredStatus: BULK_STATUS[1] }), 'assignments', event);
});

/** DELETE …/memberships/bulk/?all=&included=&excluded=. */
export const bulkUnassign = api({ status: BULK_STATUS, responses: { 200: BulkUnassigned, 202: JobStarted }, params: ws, query: selectionQuery }, async ({ principal, params, query, event, db }) => {
  await workspaceFor(db, principal, params.id, 'workspace.members.manage');
  return bulkReply(await bulk(db, principal, 'workspace.unassign', params.id, query, { deferredStatus: BULK_STATUS[1] }), 'unassignments', event);
});

/** The Lambda handler of this module's routes (see functions/routes.ts). */
export const handler = routed('workspaces/index', { addMember, addProject, bulkAssign, bulkUnassign, create, get, list, members, membersPage, projects, remove, removeMember, removeProject, update });
