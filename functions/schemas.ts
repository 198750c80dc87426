/**
 * Response schemas: what each route answers, as zod schemas beside the plain shape functions of
 * functions/shapes.ts. Routes name them in their `api()` spec (`responses`); the OpenAPI document
 * (functions/openapi/document.ts) is generated from them and the request schemas, and the e2e suite
 * validates every reply against that document, so a shape that changes without its schema fails.
 * Objects are strict: a field a shape adds without its schema is a mismatch too.
 */
import { z } from 'zod';
import { ACTIONS } from '../lib/core/permissions.js';
import { PROJECT_ROLES, ROLES, ROLE_SOURCES } from '../lib/core/roles.js';
import { SOURCES } from '../lib/core/context.js';

/** Schemas with an id become shared components of the document (`#/components/schemas/<id>`). */
export const components = z.registry<{ id: string; description?: string }>();
const named = <T extends z.ZodType>(id: string, schema: T, description?: string): T => {
  components.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
};

const id = z.number().int();
const datetime = z.string().describe('ISO 8601 date and time');
const url = z.string().describe('absolute URL');

export const Role = named('Role', z.enum(ROLES), 'Organization role code: Owner, Administrator, Manager, Reviewer, Annotator, Not Activated, Deactivated.');
export const RoleSource = named('RoleSource', z.enum(ROLE_SOURCES), 'Where a membership or project role came from.');
const UserType = z.literal('standard');

// ---------------------------------------------------------------------------------------------
// Errors (LSE's shapes)

export const ErrorBody = named('Error', z.strictObject({ detail: z.string() }), 'LSE\'s error body.');
export const ValidationErrorBody = named(
  'ValidationError',
  z.strictObject({ detail: z.string(), validation_errors: z.record(z.string(), z.array(z.string())).optional() }),
  'LSE\'s error body; for invalid input, the messages per field (`non_field_errors` for the body as a whole).',
);

// ---------------------------------------------------------------------------------------------
// Users and memberships

const OrgMembership = named(
  'OrganizationMembership',
  z.strictObject({ active: z.boolean(), flex: z.null(), organization_id: id, role: Role, user_type: UserType }),
);
const lseFields = { invite_expired: z.null(), invite_expired_at: z.null(), email_notification_settings: z.strictObject({}) };
const LseFields = z.strictObject(lseFields);

const userFields = {
  id,
  email: z.string(),
  username: z.string(),
  first_name: z.string(),
  last_name: z.string(),
  phone: z.string(),
  avatar: z.null(),
  initials: z.string(),
  date_joined: datetime,
  last_activity: datetime,
  allow_newsletters: z.boolean().nullable(),
  custom_hotkeys: z.null(),
  active_organization: id.nullable(),
  active_organization_meta: z.strictObject({}),
  org_membership: z.array(OrgMembership),
  organization_membership: OrgMembership.nullable(),
  lse_fields: LseFields,
  pause: z.null(),
};

/** LseUser / LseUserAPI. */
export const User = named('LseUser', z.strictObject(userFields));

/** WhoAmIUser. */
export const WhoAmI = named(
  'WhoAmIUser',
  z.strictObject({
    ...userFields,
    active_organization_meta: z.union([z.strictObject({ title: z.string(), email: z.string() }), z.strictObject({})]),
    lse_fields: z.strictObject({ ...lseFields, active_organization_external_id: z.null() }),
    permissions: z.array(z.enum(ACTIONS)),
    social_accounts: z.array(z.never()),
  }),
);

const NullFields = { contributed_to_projects: z.null(), created_projects: z.null() };

/** LseOrganizationMemberList. */
export const Member = named(
  'LseOrganizationMemberList',
  z.strictObject({
    id,
    organization: id,
    role: Role,
    role_source: RoleSource,
    user_type: UserType,
    tags: z.array(z.never()),
    concurrency: z.null(),
    flex: z.null(),
    ...NullFields,
    user: z.strictObject({
      id,
      email: z.string(),
      username: z.string(),
      first_name: z.string(),
      last_name: z.string(),
      last_activity: datetime,
      avatar: z.null(),
      initials: z.string(),
      ...NullFields,
      lse_fields: LseFields,
      pause: z.null(),
    }),
  }),
);

/** OrganizationMember (one member's details). */
export const MemberDetail = named(
  'OrganizationMember',
  z.strictObject({
    user: id,
    organization: id,
    created_at: datetime,
    annotations_count: z.number().int(),
    contributed_projects_count: z.number().int(),
    contributed_to_projects: z.array(z.never()),
    created_projects: z.array(z.never()),
    role: Role,
    role_source: RoleSource,
    deleted_at: datetime.nullable(),
  }),
);

/** LSE's page-number pages. */
export const page = <T extends z.ZodType>(item: T) => z.strictObject({ count: z.number().int(), next: url.nullable(), previous: url.nullable(), results: z.array(item) });
/** Roster's cursor pages (no count). */
export const cursorPage = <T extends z.ZodType>(item: T) => z.strictObject({ next: url.nullable(), results: z.array(item) });

export const MemberPage = named('PaginatedLseOrganizationMemberListList', page(Member));

// ---------------------------------------------------------------------------------------------
// Organizations

export const OrganizationId = named('OrganizationId', z.strictObject({ id, title: z.string(), contact_info: z.string().nullable(), created_at: datetime }));

export const Organization = named(
  'LseOrganization',
  z.strictObject({
    id,
    title: z.string(),
    created_at: datetime,
    contact_info: z.string().nullable(),
    default_role: Role,
    token: z.string().describe('the invite link token; empty for callers who may not invite'),
    billing: z.strictObject({
      manual_role_management: z.boolean(),
      manual_workspace_management: z.boolean(),
      enforce_session_concurrency: z.boolean(),
      max_parallel_sessions: z.number().int(),
      session_concurrency_window_seconds: z.number().int(),
    }),
    custom_scripts_enabled: z.boolean(),
    custom_interfaces_enabled: z.null(),
    email_notification_settings: z.strictObject({}),
    embed_domains: z.null(),
    embed_enabled: z.null(),
    embed_settings: z.null(),
    external_id: z.null(),
    interface_settings: z.null(),
    react_code_settings: z.strictObject({}),
    activity_log_retention_days: z.number().int().nullable().describe('Roster\'s own: days the activity log keeps entries (null: forever)'),
  }),
);

export const DefaultRole = named('DefaultRole', z.strictObject({ organization: id, default_role: Role, external_id: z.null() }));

const permissionOption = {
  permission: z.enum(ACTIONS),
  label: z.string(),
  group: z.string(),
  tooltip: z.string(),
  default: z.array(Role),
  options: z.array(Role),
};
export const PermissionOption = named('ConfigurablePermissionOption', z.strictObject(permissionOption));
export const Permission = named('OrganizationPermission', z.strictObject({ id, organization: id, ...permissionOption, roles: z.array(Role) }));

// ---------------------------------------------------------------------------------------------
// Invites and tokens

export const InviteLink = named('InviteLink', z.strictObject({ invite_url: url, token: z.string() }));
export const InvitesSent = z.strictObject({
  detail: z.string(),
  sent: z.array(z.string()),
  skipped: z.array(z.strictObject({ email: z.string(), reason: z.string(), invite_url: url.optional() })),
});
export const Detail = z.strictObject({ detail: z.string() });

export const LegacyToken = z.strictObject({ token: z.string() });
export const Pat = named('PersonalAccessToken', z.strictObject({ token: z.string(), created_at: datetime, expires_at: datetime }));
export const Access = z.strictObject({ access: z.string() });
export const Refresh = z.strictObject({ refresh: z.string() });
export const TokenPolicy = named('TokenPolicy', z.strictObject({ api_tokens_enabled: z.boolean(), legacy_api_tokens_enabled: z.boolean(), api_token_ttl_days: z.number().int() }));

/** LSE's ScimSettings, with Roster's three manual-management switches. */
export const ScimSettings = named(
  'ScimSettings',
  z.strictObject({
    roles_groups: z.array(z.tuple([z.enum(['Administrator', 'Manager', 'Reviewer', 'Annotator']), z.string()])),
    workspaces_groups: z.array(z.tuple([z.string(), z.string()])),
    projects_groups: z.array(z.strictObject({ project_id: id, group: z.string(), role: z.enum(['Inherit', 'Annotator', 'Reviewer']) })),
    manual_role_management: z.boolean(),
    manual_workspace_management: z.boolean(),
    manual_project_management: z.boolean(),
  }),
);

// ---------------------------------------------------------------------------------------------
// Workspaces and projects

export const Workspace = named(
  'Workspace',
  z.strictObject({
    id,
    title: z.string(),
    description: z.string().nullable(),
    color: z.string().nullable(),
    is_archived: z.boolean(),
    is_personal: z.boolean(),
    created_by: id,
    created_by_user: z.strictObject({ id }),
    membership: z.strictObject({ is_member: z.boolean() }).nullable(),
    projects_count: z.number().int(),
  }),
);

export const Project = named(
  'Project',
  z.strictObject({
    id,
    title: z.string(),
    description: z.string().nullable(),
    workspace: id.nullable(),
    is_published: z.boolean(),
    created_by: id,
    created_at: datetime,
    effective_role: Role.nullable(),
    expert_instruction: z.string().optional(),
    annotator_instructions: z.string().optional(),
    reviewer_instructions: z.string().optional(),
  }),
  'A project; the instructions appear for callers whose role in it reads them.',
);

export const ProjectMember = named(
  'ProjectMember',
  z.strictObject({
    ...userFields,
    implicit_member: z.boolean(),
    project_role: z.enum(PROJECT_ROLES).nullable(),
    project_role_source: RoleSource.nullable(),
    effective_role: Role.nullable(),
    tags: z.array(z.never()),
    user_type: UserType,
  }),
);

export const ProjectRole = named('ProjectRole', z.strictObject({ id, project: id, user: id, role: z.enum(PROJECT_ROLES), role_source: RoleSource }));

export const WorkspaceMember = z.strictObject({ workspace: id, user: User });

const JobStatus = z.enum(['pending', 'running', 'done']);
export const Job = named(
  'Job',
  z.strictObject({
    id: z.uuid(),
    organization: id,
    kind: z.enum(['workspace.assign', 'workspace.unassign', 'project.assign', 'project.unassign']),
    target: id,
    all: z.boolean(),
    included: z.array(id),
    excluded: z.array(id),
    status: JobStatus,
    cursor: z.number().int(),
    processed: z.number().int(),
    created_by: id,
    created_at: datetime,
    finished_at: datetime.nullable(),
  }),
);
export const BulkAssigned = z.strictObject({ assignments: z.number().int(), skipped_user_ids: z.array(id) });
export const BulkUnassigned = z.strictObject({ unassignments: z.number().int() });
export const JobStarted = named('JobStarted', z.strictObject({ job_id: z.uuid(), status: JobStatus, status_url: url }));

// ---------------------------------------------------------------------------------------------
// Access checks

export const CheckResult = named('AccessCheckResult', z.strictObject({ allowed: z.boolean(), effective_role: Role.nullable(), reason: z.string() }));
export const CheckResults = z.union([CheckResult, z.strictObject({ results: z.array(CheckResult) })]);

// ---------------------------------------------------------------------------------------------
// Activity log and histories

const Item = z.record(z.string(), z.unknown()).nullable();

export const ActivityLog = named(
  'ActivityLog',
  z.strictObject({
    id,
    datetime,
    user_id: id,
    email: z.string(),
    organization_id: id.nullable(),
    project_id: id.nullable(),
    workspace_owner_id: z.null(),
    request_method: z.string(),
    request_url: z.string(),
    response_code: z.string(),
    duration: z.null(),
    ip_address: z.string().nullable(),
    user_agent: z.string(),
    http_referer: z.string(),
    user_session: z.null(),
    extra_data: z.null(),
    action: z.string(),
    source: z.enum(SOURCES),
    resource_type: z.string(),
    resource_id: id.nullable(),
    workspace_id: id.nullable(),
    subject_user_id: id.nullable(),
    request_id: z.string().nullable(),
    before: Item,
    after: Item,
  }),
  'An activity-log entry: LSE\'s ActivityLog fields, then Roster\'s own.',
);
export const ActivityLogPage = z.strictObject({ data: z.array(ActivityLog), recordsTotal: z.number().int(), recordsFiltered: z.number().int() });

export const StateModel = named(
  'StateModel',
  z.strictObject({
    id: z.uuid(),
    state: z.string(),
    previous_state: z.string().nullable(),
    transition_name: z.string(),
    reason: z.null(),
    context_data: z.strictObject({
      user_id: id.nullable(),
      action: z.string(),
      source: z.enum(SOURCES),
      role_source: z.string().nullable(),
      request_id: z.string().nullable(),
      ip_address: z.string().nullable(),
      before: Item,
      after: Item,
    }),
    created_at: datetime,
    triggered_by: z.strictObject({ id, email: z.string() }).nullable(),
  }),
);
export const StatePage = named('PaginatedStateModelList', page(StateModel));

export const Export = named(
  'ActivityLogExport',
  z.strictObject({
    id: z.uuid(),
    organization: id,
    format: z.enum(['ndjson', 'csv']),
    start_date: z.string().nullable(),
    end_date: z.string().nullable(),
    status: JobStatus,
    location: z.string(),
    part: z.number().int(),
    cursor: z.string().nullable(),
    count: z.number().int(),
    bytes: z.number().int(),
    created_by: id,
    created_at: datetime,
    finished_at: datetime.nullable(),
  }),
);

export const Verification = named(
  'ActivityLogVerification',
  z.strictObject({
    start_date: z.string(),
    end_date: z.string(),
    valid: z.boolean(),
    days: z.array(
      z.strictObject({
        date: z.string(),
        status: z.enum(['ok', 'tampered', 'not_digested', 'before_history']),
        entries: z.number().int(),
        altered: z.array(z.string()),
        missing: z.array(z.string()),
        inserted: z.array(z.string()),
        expired: z.number().int(),
        digest_problems: z.array(z.string()),
      }),
    ),
  }),
);

// ---------------------------------------------------------------------------------------------
// Non-JSON bodies

/** A response whose body is not JSON: its media type and what it is. */
export interface RawBody {
  /** One media type, or the several a route may answer with (a file download). */
  mediaType: string | readonly string[];
  description: string;
}
export const csvBody = (description: string): RawBody => ({ mediaType: 'text/csv', description });

// ---------------------------------------------------------------------------------------------
// SCIM tokens (/api/scim/tokens)

export const ScimToken = named(
  'ScimToken',
  z.strictObject({ id: z.string(), display: z.string().describe('the first and last characters'), created_at: datetime, created_by: id }),
  'A SCIM token of the organization, without its secret.',
);
export const ScimTokenCreated = named(
  'ScimTokenCreated',
  z.strictObject({ id: z.string(), display: z.string(), created_at: datetime, created_by: id, token: z.string().describe('the secret, shown this once') }),
  'A new SCIM token: `Authorization: Bearer <token>` under /scim/v2/.',
);

// ---------------------------------------------------------------------------------------------
// SAML SSO settings (LSE's SamlSettings, plus Roster's read-only state)

const SamlCertificate = z.strictObject({ subject: z.string(), not_before: datetime, not_after: datetime, fingerprint: z.string().describe('SHA-256 of the DER, hex') });
export const SamlSettings = named(
  'SamlSettings',
  z.strictObject({
    acs_url: url.nullable().describe('Assertion consumer service URL to give the IdP (the user pool domain /saml2/idpresponse)'),
    login_url: url.nullable().describe('SP-initiated sign-in: the user pool authorize URL naming this organization\'s IdP'),
    logout_url: z.null().describe('No SAML single logout'),
    metadata_xml_url: z.null(),
    sp_entity_id: z.string().nullable().describe('Audience / SP entity id to give the IdP (urn:amazon:cognito:sp:<pool id>)'),
    nameid_format: z.string(),
    token: z.string().describe('The IdP\'s name in the user pool (roster-org-<id>)'),
    provider_name: z.string(),
    domain: z.string().describe('Comma-separated SSO email domains'),
    idp_provider: z.string().nullable(),
    mapping_email: z.string(),
    mapping_first_name: z.string(),
    mapping_last_name: z.string(),
    mapping_groups: z.string(),
    metadata_url: z.string(),
    metadata_xml: z.string(),
    roles_groups: z.array(z.tuple([z.string(), z.string()])),
    workspaces_groups: z.array(z.tuple([z.string(), z.string()])),
    projects_groups: z.array(z.strictObject({ project_id: id, group: z.string(), role: z.enum(['Inherit', 'Annotator', 'Reviewer']) })),
    manual_role_management: z.boolean(),
    manual_workspace_management: z.boolean(),
    manual_project_management: z.boolean(),
    enabled: z.boolean().describe('Sign-ins through the IdP are admitted'),
    entity_id: z.string().describe('The IdP\'s entity id, from its metadata'),
    certificates: z.array(SamlCertificate).describe('The IdP\'s signing certificates and their expiry'),
    updated_at: datetime.nullable(),
  }),
);
export const SamlValidity = named('SamlValidity', z.strictObject({ valid: z.literal(true), domain: z.string().optional(), entity_id: z.string().optional(), certificates: z.array(SamlCertificate).optional() }));
