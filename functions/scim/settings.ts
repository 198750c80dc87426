import { z } from 'zod';
import { getScimSettings, saveScimSettings } from '../../lib/federation/settings.js';
import { PROJECT_GROUP_ROLES, ROLE_NAMES } from '../../lib/federation/mappings.js';
import { api, ok, routed } from '../http.js';
import { ScimSettings } from '../schemas.js';

const group = z.string().min(1).max(256);
const body = z.strictObject({
  roles_groups: z.array(z.tuple([z.enum([...ROLE_NAMES, 'AD', 'MA', 'RE', 'AN']), group])).max(500).optional(),
  workspaces_groups: z.array(z.tuple([z.string().min(1).max(1000), group])).max(500).optional(),
  projects_groups: z
    .array(z.strictObject({ project_id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER), group, role: z.enum([...PROJECT_GROUP_ROLES, 'AN', 'RE']).default('Inherit') }))
    .max(500)
    .optional(),
  manual_role_management: z.boolean().optional(),
  manual_workspace_management: z.boolean().optional(),
  manual_project_management: z.boolean().optional(),
});

/** GET /api/scim/settings: the active organization's group mappings (OW, AD). */
export const get = api({ responses: { 200: ScimSettings }, summary: 'SCIM group mappings of the active organization' }, async ({ principal, db }) => ok(await getScimSettings(db, principal)));

/** POST /api/scim/settings: fields given replace theirs; members are re-evaluated (a job when many). */
export const set = api({ responses: { 201: ScimSettings }, body, summary: 'Save SCIM group mappings and re-evaluate members' }, async ({ principal, body, db }) =>
  ok((await saveScimSettings(db, principal, body)).settings, 201),
);

export const handler = routed('scim/settings', { get, set });
