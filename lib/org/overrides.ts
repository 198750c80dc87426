import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, isConditionFailure } from '../core/db.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import type { Principal } from '../core/model.js';
import { authorize } from './organizations.js';
import { type Action, CONFIGURABLE, CONFIGURABLE_ACTIONS, defaultRolesOf } from '../core/permissions.js';
import type { Role } from '../core/roles.js';
import { keys } from '../core/table.js';

/** LSE's ConfigurablePermissionOption: the roles that hold it by default, which an override may narrow. */
export function options() {
  return CONFIGURABLE_ACTIONS.map((permission) => {
    const roles = defaultRolesOf(permission).filter((r) => r !== 'OW');
    return { permission, ...CONFIGURABLE[permission]!, default: roles, options: roles };
  });
}

/** LSE's OrganizationPermission for one configured override. */
export function permissionView(orgId: number, permission: Action, roles: Role[]) {
  const option = options().find((o) => o.permission === permission)!;
  return { id: CONFIGURABLE_ACTIONS.indexOf(permission) + 1, organization: orgId, ...option, roles };
}

function checkKey(permission: string): Action {
  if (!(CONFIGURABLE_ACTIONS as string[]).includes(permission)) throw new NotFoundError('Permission not found for organization');
  return permission as Action;
}

/** Overrides restrict, never extend, and never touch the Owner. */
function checkRoles(permission: Action, roles: Role[]): Role[] {
  const allowed = defaultRolesOf(permission).filter((r) => r !== 'OW') as Role[];
  if (roles.includes('OW')) throw new ValidationError('Validation error', { roles: ["The Owner's permissions are not configurable."] });
  const extra = roles.filter((r) => !allowed.includes(r));
  if (extra.length) throw new ValidationError('Validation error', { roles: [`Overrides only restrict: ${extra.join(', ')} cannot be given "${permission}" (default: ${allowed.join(', ') || 'Owner only'}).`] });
  return [...new Set(roles)];
}

export async function listOverrides(db: Db, p: Principal, orgId: number) {
  // Active organization only: its overrides are the ones authentication read on this request.
  const o = (await authorize(db, p, orgId, 'organization.update', { activeOnly: true })).overrides;
  return (Object.entries(o) as [Action, Role[]][]).filter(([k]) => k in CONFIGURABLE).map(([k, roles]) => permissionView(orgId, k, roles));
}

export async function listOptions(db: Db, p: Principal, orgId: number) {
  await authorize(db, p, orgId, 'organization.update', { activeOnly: true });
  return options();
}

export async function getOverride(db: Db, p: Principal, orgId: number, key: string) {
  const { overrides } = await authorize(db, p, orgId, 'organization.update', { activeOnly: true });
  const permission = checkKey(key);
  const roles = overrides[permission as Action];
  if (!roles) throw new NotFoundError('Permission not found for organization');
  return permissionView(orgId, permission, roles);
}

/** Set (POST/PUT/PATCH) one override. `mustExist` for PUT/PATCH on an existing key (404 otherwise). */
export async function setOverride(db: Db, p: Principal, orgId: number, key: string, roles: Role[], mustExist = false) {
  await authorize(db, p, orgId, 'organization.permissions.configure', { activeOnly: true });
  const permission = checkKey(key);
  const kept = checkRoles(permission, roles);
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.organization(orgId),
        UpdateExpression: 'SET permission_overrides = if_not_exists(permission_overrides, :empty)',
        ExpressionAttributeValues: { ':empty': {} },
        ConditionExpression: 'attribute_exists(PK)',
      }),
    );
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.organization(orgId),
        UpdateExpression: 'SET permission_overrides.#k = :roles',
        ExpressionAttributeNames: { '#k': permission },
        ExpressionAttributeValues: { ':roles': kept },
        ConditionExpression: mustExist ? 'attribute_exists(permission_overrides.#k)' : 'attribute_exists(PK)',
      }),
    );
  } catch (err) {
    if (isConditionFailure(err)) throw new NotFoundError('Permission not found for organization');
    throw err;
  }
  return permissionView(orgId, permission, kept);
}

/** DELETE: back to the matrix's defaults for this permission. */
export async function resetOverride(db: Db, p: Principal, orgId: number, key: string): Promise<void> {
  await authorize(db, p, orgId, 'organization.permissions.configure', { activeOnly: true });
  const permission = checkKey(key);
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.organization(orgId),
        UpdateExpression: 'REMOVE permission_overrides.#k',
        ExpressionAttributeNames: { '#k': permission },
        ConditionExpression: 'attribute_exists(permission_overrides.#k)',
      }),
    );
  } catch (err) {
    if (isConditionFailure(err)) throw new NotFoundError('Permission not found for organization');
    throw err;
  }
}

