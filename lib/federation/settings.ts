/**
 * LSE's SCIM settings (`GET/POST /api/scim/settings`): the organization's group mappings, for its
 * Owner and Administrators. Saving validates them against the organization and re-evaluates every
 * SCIM-provisioned member (a job when there are many), since the same groups may now mean more,
 * less or other access.
 */
import type { Db } from '../core/db.js';
import type { Principal } from '../core/model.js';
import { authorize } from '../org/organizations.js';
import { type GroupMappings, getScimMappings, mappingsView, putScimMappings, resolveMappings } from './mappings.js';
import { reevaluate } from './reevaluate.js';

export async function getScimSettings(db: Db, p: Principal): Promise<GroupMappings> {
  await authorize(db, p, p.orgId, 'organization.sso.configure');
  return mappingsView(await getScimMappings(db, p.orgId));
}

/** Save the fields given (the others keep their value), then re-evaluate the members they may change. */
export async function saveScimSettings(db: Db, p: Principal, body: unknown): Promise<{ settings: GroupMappings; job?: string }> {
  await authorize(db, p, p.orgId, 'organization.sso.configure');
  const next = await resolveMappings(db, p.orgId, body, await getScimMappings(db, p.orgId));
  await putScimMappings(db, p.orgId, next);
  const { job } = await reevaluate(db, p.orgId, { all: true });
  return { settings: mappingsView(next), ...(job ? { job } : {}) };
}
