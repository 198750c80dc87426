import { z } from 'zod';
import { validateDomain } from '../../lib/federation/saml/domains.js';
import { validateMetadataUrl } from '../../lib/federation/saml/metadata.js';
import { getSamlSettings, resetSamlSettings, serviceProviderFromEnv, settingsView, updateSamlSettings } from '../../lib/federation/saml/settings.js';
import { authorize } from '../../lib/org/organizations.js';
import { api, noContent, ok, routed } from '../http.js';
import { SamlSettings, SamlValidity } from '../schemas.js';

const attribute = z.string().max(1024).nullable().optional();
/** What GET answers and POST ignores (LSE's read-only fields, so a client may post back what it read). */
const READ_ONLY = ['acs_url', 'login_url', 'logout_url', 'metadata_xml_url', 'sp_entity_id', 'nameid_format', 'token', 'provider_name', 'enabled', 'entity_id', 'certificates', 'updated_at'] as const;

const fields = z.strictObject({
  ...Object.fromEntries(READ_ONLY.map((k) => [k, z.unknown().optional()])),
  domain: z.string().max(65536).optional(),
  metadata_url: z.string().max(65536).optional(),
  metadata_xml: z.string().max(200_000).optional(),
  idp_provider: z.string().max(256).nullable().optional(),
  mapping_email: attribute,
  mapping_first_name: attribute,
  mapping_last_name: attribute,
  mapping_groups: attribute,
  // Validated against the organization by the mapping engine (roles, workspace titles, projects).
  roles_groups: z.unknown().optional(),
  workspaces_groups: z.unknown().optional(),
  projects_groups: z.unknown().optional(),
  manual_role_management: z.boolean().nullable().optional(),
  manual_workspace_management: z.boolean().optional(),
  manual_project_management: z.boolean().optional(),
});
// Unknown fields are a 400 naming them; the read-only ones are dropped.
const body = fields.transform((b) => Object.fromEntries(Object.entries(b).filter(([k]) => !(READ_ONLY as readonly string[]).includes(k))) as Omit<z.output<typeof fields>, (typeof READ_ONLY)[number]>);

/** GET /api/saml/settings (Owner, Administrator). */
export const get = api({ responses: { 200: SamlSettings } }, async ({ principal, db }) => {
  await authorize(db, principal, principal.orgId, 'organization.sso.configure');
  return ok(settingsView(await getSamlSettings(db, principal.orgId), serviceProviderFromEnv()));
});

/** POST /api/saml/settings: partial update; saving creates or updates the organization's IdP in the user pool. */
export const set = api({ body, responses: { 201: SamlSettings } }, async ({ principal, body, db }) =>
  ok(settingsView(await updateSamlSettings(db, principal, body), serviceProviderFromEnv()), 201),
);

/** DELETE /api/saml/settings: back to the defaults; the IdP leaves the user pool. */
export const reset = api({ responses: { 204: null } }, async ({ principal, db }) => {
  await resetSamlSettings(db, principal);
  return noContent();
});

/** POST /api/saml/settings/validate-domain: refuses free-mail domains (400) and domains another organization holds (409). */
export const checkDomain = api({ body: z.object({ domain: z.string().min(1).max(256) }), status: 200, responses: { 200: SamlValidity } }, async ({ principal, body, db }) => {
  await authorize(db, principal, principal.orgId, 'organization.sso.configure');
  return ok(await validateDomain(db, principal.orgId, body.domain));
});

/** POST /api/saml/settings/validate-metadata-url: fetched (public addresses only) and checked, nothing saved. */
export const checkMetadataUrl = api({ body: z.object({ metadata_url: z.string().min(1).max(2048) }), status: 200, responses: { 200: SamlValidity } }, async ({ principal, body, db }) => {
  await authorize(db, principal, principal.orgId, 'organization.sso.configure');
  return ok(await validateMetadataUrl(body.metadata_url));
});

/** The Lambda handler of this module's routes (see functions/routes.ts). */
export const handler = routed('saml/settings', { get, set, reset, checkDomain, checkMetadataUrl });
