/**
 * An organization's SAML SSO settings (SPEC §7; LSE's /api/saml/settings): its email domains, the
 * IdP's metadata, the attribute names, and the group mappings the sign-in trigger applies. Saving
 * claims the domains (one organization per domain, race-safe), stores the settings, and brings the
 * organization's IdP in the user pool in line; resetting undoes all three.
 */
import { createHash } from 'node:crypto';
import { type Db, cancellationReasons, getItem, transactWrite } from '../../core/db.js';
import { ConflictError, ValidationError } from '../../core/errors.js';
import type { Principal } from '../../core/model.js';
import { keys } from '../../core/table.js';
import { now } from '../../core/util.js';
import { authorize } from '../../org/organizations.js';
import { EMPTY_MAPPINGS, type GroupMappings, type StoredMappings, mappingsView, resolveMappings } from '../mappings.js';
import { claimedElsewhere, parseDomains } from './domains.js';
import { type SamlIdentityProviders, samlIdentityProviders } from './idp.js';
import { type Certificate, type FetchPolicy, fetchMetadata, fetchPolicyFromEnv, parseMetadata } from './metadata.js';
import { type AttributeNames, DEFAULT_ATTRIBUTES, PRESETS, type Preset, isPreset, PRESET_KEYS } from './presets.js';
import { providerName } from './provider.js';

export interface SamlSettings extends AttributeNames {
  org_id: number;
  domains: string[];
  metadata_url: string;
  metadata_xml: string;
  idp_provider: Preset | null;
  mappings: StoredMappings;
  /** True once the IdP exists in the pool with domains and metadata: its sign-ins are admitted. */
  enabled: boolean;
  entity_id: string;
  certificates: Certificate[];
  version: number;
  updated_at: string | null;
}

export const DEFAULT_SETTINGS = (orgId: number): SamlSettings => ({
  org_id: orgId,
  domains: [],
  metadata_url: '',
  metadata_xml: '',
  idp_provider: null,
  ...DEFAULT_ATTRIBUTES,
  mappings: EMPTY_MAPPINGS,
  enabled: false,
  entity_id: '',
  certificates: [],
  version: 0,
  updated_at: null,
});

/** The group mappings of a stored SAML settings item (what the seat report and reviews read beside others). */
export const samlMappingsOf = (item: Record<string, unknown> | undefined): StoredMappings => ({ ...EMPTY_MAPPINGS, ...((item?.mappings as Partial<StoredMappings> | undefined) ?? {}) });

/** Settings from their stored item (defaults when there is none). */
export function settingsOf(orgId: number, item: Record<string, unknown> | undefined): SamlSettings {
  if (!item) return DEFAULT_SETTINGS(orgId);
  const { PK: _pk, SK: _sk, type: _t, _ctx: _c, metadata_sha256: _h, ...rest } = item;
  const s = { ...DEFAULT_SETTINGS(orgId), ...(rest as Partial<SamlSettings>) };
  return { ...s, mappings: { ...EMPTY_MAPPINGS, ...s.mappings } };
}

/** The organization's settings (defaults when none were saved): one strongly consistent read. */
export async function getSamlSettings(db: Db, orgId: number): Promise<SamlSettings> {
  return settingsOf(orgId, await getItem(db, keys.samlSettings(orgId)));
}

/** What an IdP administrator needs to set Roster up, from the pool's configuration. */
export interface ServiceProvider {
  /** The user pool's domain, e.g. https://roster.auth.us-east-1.amazoncognito.com (locally the stand-in). */
  domainUrl: string;
  userPoolId: string;
  clientId: string;
  callbackUrl: string;
}

export function serviceProviderFromEnv(env = process.env): ServiceProvider {
  return {
    domainUrl: (env.COGNITO_DOMAIN_URL ?? '').replace(/\/+$/, ''),
    userPoolId: env.COGNITO_USER_POOL_ID ?? '',
    clientId: env.COGNITO_SSO_CLIENT_ID ?? '',
    callbackUrl: env.ROSTER_SSO_CALLBACK_URL ?? '',
  };
}

export const NAMEID_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';

/** The API's view: LSE's SamlSettings fields, plus Roster's (the SP entity id, state, certificates). */
export function settingsView(s: SamlSettings, sp: ServiceProvider) {
  const provider = providerName(s.org_id);
  const login = sp.domainUrl
    ? `${sp.domainUrl}/oauth2/authorize?${new URLSearchParams({ identity_provider: provider, response_type: 'code', client_id: sp.clientId, redirect_uri: sp.callbackUrl, scope: 'openid email profile' })}`
    : null;
  const m: GroupMappings = mappingsView(s.mappings);
  return {
    acs_url: sp.domainUrl ? `${sp.domainUrl}/saml2/idpresponse` : null,
    login_url: login,
    // No SAML single logout (SPEC §7).
    logout_url: null,
    metadata_xml_url: null,
    sp_entity_id: sp.userPoolId ? `urn:amazon:cognito:sp:${sp.userPoolId}` : null,
    nameid_format: NAMEID_FORMAT,
    token: provider,
    provider_name: provider,
    domain: s.domains.join(','),
    idp_provider: s.idp_provider,
    mapping_email: s.mapping_email,
    mapping_first_name: s.mapping_first_name,
    mapping_last_name: s.mapping_last_name,
    mapping_groups: s.mapping_groups,
    metadata_url: s.metadata_url,
    metadata_xml: s.metadata_xml,
    ...m,
    enabled: s.enabled,
    entity_id: s.entity_id,
    certificates: s.certificates,
    updated_at: s.updated_at,
  };
}

export interface SettingsPatch {
  domain?: string;
  metadata_url?: string;
  metadata_xml?: string;
  idp_provider?: string | null;
  mapping_email?: string | null;
  mapping_first_name?: string | null;
  mapping_last_name?: string | null;
  mapping_groups?: string | null;
  roles_groups?: unknown;
  workspaces_groups?: unknown;
  projects_groups?: unknown;
  manual_role_management?: boolean | null;
  manual_workspace_management?: boolean;
  manual_project_management?: boolean;
}

export const MAX_ATTRIBUTE_NAME = 256;

export interface Deps {
  idp?: SamlIdentityProviders;
  fetchPolicy?: FetchPolicy;
}

/**
 * POST /api/saml/settings: a partial update (fields left out keep their value). Choosing a preset
 * sets the attribute names it implies unless the same request names them. SSO is on once there are
 * domains, metadata and an email attribute; then the IdP is created or updated in the pool and
 * enabled on the SSO app client. Any refusal (domain, metadata, mapping, Cognito) writes nothing.
 */
export async function updateSamlSettings(db: Db, p: Principal, patch: SettingsPatch, deps: Deps = {}): Promise<SamlSettings> {
  await authorize(db, p, p.orgId, 'organization.sso.configure');
  const current = await getSamlSettings(db, p.orgId);
  const next: SamlSettings = { ...current, mappings: current.mappings };
  const errors: Record<string, string[]> = {};

  if (patch.idp_provider !== undefined) {
    if (patch.idp_provider !== null && !isPreset(patch.idp_provider)) errors.idp_provider = [`Unknown preset ${JSON.stringify(patch.idp_provider)}; allowed: ${PRESET_KEYS.join(', ')}.`];
    else {
      next.idp_provider = patch.idp_provider;
      Object.assign(next, PRESETS[patch.idp_provider ?? 'custom']);
    }
  }
  for (const f of ['mapping_email', 'mapping_first_name', 'mapping_last_name', 'mapping_groups'] as const) {
    const v = patch[f];
    if (v === undefined) continue;
    const value = (v ?? '').trim();
    if (value.length > MAX_ATTRIBUTE_NAME) errors[f] = [`At most ${MAX_ATTRIBUTE_NAME} characters.`];
    else if (f === 'mapping_email' && !value) errors[f] = ['The email attribute is required: it names who signs in.'];
    else next[f] = value;
  }
  if (patch.domain !== undefined) {
    try {
      next.domains = parseDomains(patch.domain);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      Object.assign(errors, (err.extra.validation_errors as Record<string, string[]>) ?? {});
    }
  }
  const url = patch.metadata_url?.trim();
  const xml = patch.metadata_xml?.trim();
  if (url && xml) errors.metadata_url = ['Give the metadata as a URL or as XML, not both.'];
  if (Object.keys(errors).length) throw new ValidationError('Validation error', errors);

  // The metadata is fetched and checked before anything is written.
  if (url) {
    const m = parseMetadata(await fetchMetadata(url, deps.fetchPolicy ?? fetchPolicyFromEnv()), 'metadata_url');
    Object.assign(next, { metadata_url: url, metadata_xml: '', entity_id: m.entity_id, certificates: m.certificates });
  } else if (xml) {
    const m = parseMetadata(xml);
    Object.assign(next, { metadata_xml: xml, metadata_url: '', entity_id: m.entity_id, certificates: m.certificates });
  } else if (patch.metadata_url !== undefined || patch.metadata_xml !== undefined) {
    // Both given empty (or the one in use cleared): no metadata.
    if (patch.metadata_url !== undefined && current.metadata_url) Object.assign(next, { metadata_url: '', entity_id: '', certificates: [] });
    if (patch.metadata_xml !== undefined && current.metadata_xml) Object.assign(next, { metadata_xml: '', entity_id: '', certificates: [] });
  }

  const mappingFields = ['roles_groups', 'workspaces_groups', 'projects_groups', 'manual_role_management', 'manual_workspace_management', 'manual_project_management'] as const;
  if (mappingFields.some((f) => patch[f] !== undefined)) {
    const body = Object.fromEntries(mappingFields.filter((f) => patch[f] !== undefined).map((f) => [f, f === 'manual_role_management' ? (patch[f] ?? false) : patch[f]]));
    next.mappings = await resolveMappings(db, p.orgId, body, current.mappings);
  }

  next.enabled = next.domains.length > 0 && !!(next.metadata_url || next.metadata_xml) && !!next.mapping_email;
  next.version = current.version + 1;
  next.updated_at = now();
  await store(db, p.orgId, current, next);
  const idp = deps.idp ?? samlIdentityProviders();
  try {
    // Only what the pool holds sends Cognito calls (IdP changes are limited to about 5 a second per pool).
    if (next.enabled && (!current.enabled || JSON.stringify(idpConfig(current)) !== JSON.stringify(idpConfig(next)))) {
      await idp.upsert(idpConfig(next));
    } else if (!next.enabled && current.enabled) {
      await idp.remove(p.orgId);
    }
  } catch (err) {
    // The pool refused: the table goes back to what it said before (unless someone saved since).
    await store(db, p.orgId, next, current).catch(() => undefined);
    throw err;
  }
  return next;
}

/** What the organization's IdP in the pool is made of. */
const idpConfig = (s: SamlSettings) => ({
  orgId: s.org_id,
  metadata: s.metadata_url ? { url: s.metadata_url } : { xml: s.metadata_xml },
  attributes: { email: s.mapping_email, first_name: s.mapping_first_name, last_name: s.mapping_last_name, groups: s.mapping_groups },
  domains: s.domains,
});

/**
 * DELETE /api/saml/settings: back to the defaults (the record stays, as LSE keeps it), the domains
 * released, and the IdP disabled on the SSO client and deleted from the pool first, so no sign-in
 * gets through a half-reset organization.
 */
export async function resetSamlSettings(db: Db, p: Principal, deps: Deps = {}): Promise<void> {
  await authorize(db, p, p.orgId, 'organization.sso.configure');
  const current = await getSamlSettings(db, p.orgId);
  await (deps.idp ?? samlIdentityProviders()).remove(p.orgId);
  await store(db, p.orgId, current, { ...DEFAULT_SETTINGS(p.orgId), version: current.version + 1, updated_at: now() });
}

/**
 * Write `next` over `prev` in one transaction: the settings item conditional on `prev`'s version,
 * a claim put for each domain `next` adds (conditional on no other organization holding it), a
 * claim delete for each it drops (conditional on being this organization's).
 */
async function store(db: Db, orgId: number, prev: SamlSettings, next: SamlSettings): Promise<void> {
  const added = next.domains.filter((d) => !prev.domains.includes(d));
  const dropped = prev.domains.filter((d) => !next.domains.includes(d));
  if (added.length + dropped.length > 99) throw new ValidationError('Validation error', { domain: ['Change at most 99 domains in one request.'] });
  const { org_id: _o, ...fields } = next;
  // An empty map reaches the stream consumer as an attribute value it cannot read (DynamoDB
  // Streams' `{M: {}}` arrives as `{}`): an empty workspace_ids is left out (it is the default).
  const { workspace_ids, ...rest } = next.mappings;
  const item = {
    ...keys.samlSettings(orgId),
    type: 'saml_settings',
    ...fields,
    mappings: Object.keys(workspace_ids).length ? next.mappings : rest,
    // The log shows that the XML changed (its hash), not the XML.
    metadata_sha256: next.metadata_xml ? createHash('sha256').update(next.metadata_xml).digest('hex') : null,
  };
  const at = now();
  try {
    await transactWrite(db, [
      {
        Put: {
          TableName: db.table,
          Item: item,
          ConditionExpression: prev.version ? 'version = :v' : 'attribute_not_exists(PK) OR version = :v',
          ExpressionAttributeValues: { ':v': prev.version },
        },
      },
      ...added.map((d) => ({
        Put: {
          TableName: db.table,
          Item: { ...keys.ssoDomain(d), type: 'sso_domain', orgId, domain: d, claimed_at: at },
          ConditionExpression: 'attribute_not_exists(PK) OR orgId = :o',
          ExpressionAttributeValues: { ':o': orgId },
        },
      })),
      ...dropped.map((d) => ({ Delete: { TableName: db.table, Key: keys.ssoDomain(d), ConditionExpression: 'attribute_not_exists(PK) OR orgId = :o', ExpressionAttributeValues: { ':o': orgId } } })),
    ]);
  } catch (err) {
    const reasons = cancellationReasons(err);
    if (!reasons) throw err;
    if (reasons[0]?.code === 'ConditionalCheckFailed') throw new ConflictError('The SAML settings changed meanwhile; reload and retry.');
    const i = reasons.findIndex((r, n) => n > 0 && r.code === 'ConditionalCheckFailed');
    if (i > 0 && i <= added.length) throw claimedElsewhere(added[i - 1]!);
    throw err;
  }
}
