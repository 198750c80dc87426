import { z } from 'zod';
import { ValidationError } from '../../lib/core/errors.js';
import { getOverride, listOptions, listOverrides, resetOverride, setOverride } from '../../lib/org/overrides.js';
import { api, idParam, noContent, ok, roleField, routed } from '../http.js';
import { Permission, PermissionOption } from '../schemas.js';

const org = z.object({ id: idParam });
const keyed = z.object({ id: idParam, permission_key: z.string().min(1).max(255) });
const full = z.object({ permission: z.string().min(1).max(255), roles: z.array(roleField).max(10) });
const partial = z.object({ permission: z.string().min(1).max(255).optional(), roles: z.array(roleField).max(10) });

/** GET /api/organizations/{id}/permissions: the overrides in force. */
export const list = api({ responses: { 200: z.array(Permission) }, params: org }, async ({ principal, params, db }) => ok(await listOverrides(db, principal, params.id)));

/** POST …/permissions: set one override (restrict only). */
export const create = api({ status: 200, responses: { 200: Permission }, params: org, body: full }, async ({ principal, params, body, db }) =>
  ok(await setOverride(db, principal, params.id, body.permission, body.roles)),
);

/** GET …/permissions/options: what may be configured, with the defaults. */
export const options = api({ responses: { 200: z.array(PermissionOption) }, params: org }, async ({ principal, params, db }) => ok(await listOptions(db, principal, params.id)));

export const get = api({ responses: { 200: Permission }, params: keyed }, async ({ principal, params, db }) => ok(await getOverride(db, principal, params.id, params.permission_key)));

/** PUT and PATCH …/permissions/{key}: change an override that exists. */
export const update = api({ responses: { 200: Permission }, params: keyed, body: partial }, async ({ principal, params, body, db }) => {
  if (body.permission && body.permission !== params.permission_key) {
    throw new ValidationError('Validation error', { permission: ['Does not match the permission in the path.'] });
  }
  return ok(await setOverride(db, principal, params.id, params.permission_key, body.roles, true));
});

/** DELETE …/permissions/{key}: back to the default. */
export const reset = api({ responses: { 204: null }, params: keyed }, async ({ principal, params, db }) => {
  await resetOverride(db, principal, params.id, params.permission_key);
  return noContent();
});

/** The Lambda handler of this module's routes (see functions/routes.ts). */
export const handler = routed('organizations/permissions', { create, get, list, options, reset, update });
