/**
 * Every HTTP route, declared once. CDK builds the API and one function per route from this table,
 * and the local runtime serves the same table with the same handler modules.
 */
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * What a function needs besides the table; each need brings its environment and its grant together:
 * 'directory' (Cognito admin calls), 'mailer' (Cognito invitation), 'signingKey' (the access-token
 * key), 'userPool' (the pool and client ids, to verify Cognito tokens), 'exports' (the bucket
 * activity-log exports are written to), 'sso' (the organization's SAML IdP in the pool and the SSO
 * app client: IdP create/update/delete, client describe/update), 'reviews' (the bucket access-review
 * reports are kept in).
 */
export type Need = 'directory' | 'mailer' | 'signingKey' | 'userPool' | 'exports' | 'sso' | 'reviews';

export interface Route {
  method: Method;
  /** API Gateway route path, LSE's spelling (including its trailing slashes). */
  path: string;
  /** Handler under functions/: `module` (export `handler`) or `module#export`. */
  handler: string;
  /** The table access the handler needs: its function gets exactly this grant ('none': no table at all). */
  table: 'none' | 'read' | 'readwrite';
  needs?: Need[];
}

const r = (method: Method, path: string, handler: string, table: Route['table'], needs?: Need[]): Route => ({ method, path, handler, table, needs });

export const routes: readonly Route[] = [
  // users
  r('GET', '/api/users/', 'users/list', 'read'),
  r('POST', '/api/users/', 'users/create', 'readwrite', ['directory']),
  r('GET', '/api/users/{id}/', 'users/get', 'read'),
  r('PATCH', '/api/users/{id}/', 'users/update', 'readwrite', ['directory']),
  r('DELETE', '/api/users/{id}/', 'users/delete', 'readwrite', ['directory']),
  r('GET', '/api/current-user', 'current-user/get', 'read'),
  r('PATCH', '/api/current-user', 'current-user/update', 'readwrite', ['directory']),
  r('GET', '/api/current-user/whoami', 'current-user/whoami', 'read'),
  r('GET', '/api/current-user/token', 'current-user/token', 'readwrite'),
  r('POST', '/api/current-user/reset-token/', 'current-user/reset-token', 'readwrite'),
  // organizations and memberships
  r('GET', '/api/organizations/', 'organizations/list', 'read'),
  r('POST', '/api/organizations/', 'organizations/create', 'readwrite'),
  r('GET', '/api/organizations/{id}', 'organizations/get', 'read'),
  r('PATCH', '/api/organizations/{id}', 'organizations/update', 'readwrite'),
  r('PATCH', '/api/organizations/{id}/set-default-role', 'organizations/set-default-role', 'readwrite'),
  r('GET', '/api/organizations/{id}/memberships', 'organizations/memberships-list', 'read'),
  r('PATCH', '/api/organizations/{id}/memberships', 'organizations/memberships-patch', 'readwrite', ['directory']),
  r('GET', '/api/organizations/{id}/memberships/{user_pk}/', 'organizations/member-get', 'read'),
  r('DELETE', '/api/organizations/{id}/memberships/{user_pk}/', 'organizations/member-delete', 'readwrite', ['directory']),
  r('GET', '/api/organizations/{id}/seat-report', 'organizations/seat-report', 'read'),
  r('POST', '/api/organizations/{id}/transfer-ownership', 'organizations/transfer-ownership', 'readwrite'),
  r('GET', '/api/organizations/{id}/permissions', 'organizations/permissions#list', 'read'),
  r('POST', '/api/organizations/{id}/permissions', 'organizations/permissions#create', 'readwrite'),
  r('GET', '/api/organizations/{id}/permissions/options', 'organizations/permissions#options', 'read'),
  r('GET', '/api/organizations/{id}/permissions/{permission_key}', 'organizations/permissions#get', 'read'),
  r('PUT', '/api/organizations/{id}/permissions/{permission_key}', 'organizations/permissions#update', 'readwrite'),
  r('PATCH', '/api/organizations/{id}/permissions/{permission_key}', 'organizations/permissions#update', 'readwrite'),
  r('DELETE', '/api/organizations/{id}/permissions/{permission_key}', 'organizations/permissions#reset', 'readwrite'),
  // invites
  r('GET', '/api/invite', 'invite/index#get', 'read'),
  r('POST', '/api/invite/reset-token', 'invite/index#reset', 'readwrite'),
  r('POST', '/api/invite/send-email', 'invite/index#send', 'readwrite', ['mailer']),
  r('POST', '/api/invite/revoke', 'invite/index#revoke', 'readwrite'),
  r('POST', '/api/invite/signup', 'invite/index#signup', 'readwrite', ['directory']),
  // tokens
  r('GET', '/api/token/', 'token/index#list', 'read'),
  r('POST', '/api/token/', 'token/index#create', 'readwrite'),
  r('POST', '/api/token/refresh/', 'token/index#refresh', 'read', ['signingKey']),
  r('POST', '/api/token/rotate/', 'token/index#rotate', 'readwrite'),
  r('POST', '/api/token/blacklist/', 'token/index#blacklist', 'readwrite'),
  r('GET', '/api/jwt/settings', 'jwt/settings#get', 'read'),
  r('POST', '/api/jwt/settings', 'jwt/settings#set', 'readwrite'),
  // SAML SSO settings (SPEC §7): saving them creates or updates the organization's IdP in the user pool
  r('GET', '/api/saml/settings', 'saml/settings#get', 'read'),
  r('POST', '/api/saml/settings', 'saml/settings#set', 'readwrite', ['sso']),
  r('DELETE', '/api/saml/settings', 'saml/settings#reset', 'readwrite', ['sso']),
  r('POST', '/api/saml/settings/validate-domain', 'saml/settings#checkDomain', 'read'),
  r('POST', '/api/saml/settings/validate-metadata-url', 'saml/settings#checkMetadataUrl', 'read'),
  // workspaces
  r('GET', '/api/workspaces/', 'workspaces/index#list', 'read'),
  r('POST', '/api/workspaces/', 'workspaces/index#create', 'readwrite'),
  r('GET', '/api/workspaces/{id}/', 'workspaces/index#get', 'read'),
  r('PATCH', '/api/workspaces/{id}/', 'workspaces/index#update', 'readwrite'),
  r('DELETE', '/api/workspaces/{id}/', 'workspaces/index#remove', 'readwrite'),
  r('GET', '/api/workspaces/{id}/memberships/', 'workspaces/index#members', 'read'),
  r('POST', '/api/workspaces/{id}/memberships/', 'workspaces/index#addMember', 'readwrite'),
  r('DELETE', '/api/workspaces/{id}/memberships/', 'workspaces/index#removeMember', 'readwrite'),
  r('GET', '/api/workspaces/{id}/memberships/paginated/', 'workspaces/index#membersPage', 'read'),
  r('POST', '/api/workspaces/{id}/memberships/bulk/', 'workspaces/index#bulkAssign', 'readwrite'),
  r('DELETE', '/api/workspaces/{id}/memberships/bulk/', 'workspaces/index#bulkUnassign', 'readwrite'),
  r('GET', '/api/workspaces/{id}/projects/', 'workspaces/index#projects', 'read'),
  r('POST', '/api/workspaces/{id}/projects/', 'workspaces/index#addProject', 'readwrite'),
  r('DELETE', '/api/workspaces/{id}/projects/', 'workspaces/index#removeProject', 'readwrite'),
  // projects
  r('GET', '/api/projects/', 'projects/index#list', 'read'),
  r('POST', '/api/projects/', 'projects/index#create', 'readwrite'),
  r('GET', '/api/projects/roles/', 'projects/index#roles', 'read'),
  r('POST', '/api/projects/roles/', 'projects/index#setRole', 'readwrite'),
  r('DELETE', '/api/projects/roles/{id}/', 'projects/index#deleteRole', 'readwrite'),
  r('GET', '/api/projects/{id}/', 'projects/index#get', 'read'),
  r('PATCH', '/api/projects/{id}/', 'projects/index#update', 'readwrite'),
  r('DELETE', '/api/projects/{id}/', 'projects/index#remove', 'readwrite'),
  r('GET', '/api/projects/{id}/members/', 'projects/index#members', 'read'),
  r('POST', '/api/projects/{id}/members/', 'projects/index#addMember', 'readwrite'),
  r('DELETE', '/api/projects/{id}/members/', 'projects/index#removeMember', 'readwrite'),
  r('GET', '/api/projects/{id}/members/paginated/', 'projects/index#membersPage', 'read'),
  r('GET', '/api/projects/{id}/members/export/', 'projects/index#exportMembers', 'read'),
  r('POST', '/api/projects/{id}/members/bulk/', 'projects/index#bulkAssign', 'readwrite'),
  r('DELETE', '/api/projects/{id}/members/bulk/', 'projects/index#bulkUnassign', 'readwrite'),
  r('GET', '/api/projects/{id}/roles', 'projects/index#projectRoles', 'read'),
  r('GET', '/api/jobs/{id}', 'jobs/get', 'read'),
  // access reviews (SPEC §9; the organization is the caller's active one)
  r('GET', '/api/access-reviews/definitions/', 'reviews/index#listDefinitionsRoute', 'read'),
  r('POST', '/api/access-reviews/definitions/', 'reviews/index#createDefinitionRoute', 'readwrite'),
  r('GET', '/api/access-reviews/definitions/{id}/', 'reviews/index#getDefinitionRoute', 'read'),
  r('PATCH', '/api/access-reviews/definitions/{id}/', 'reviews/index#updateDefinitionRoute', 'readwrite'),
  r('DELETE', '/api/access-reviews/definitions/{id}/', 'reviews/index#deleteDefinitionRoute', 'readwrite'),
  r('POST', '/api/access-reviews/definitions/{id}/start', 'reviews/index#start', 'readwrite'),
  r('GET', '/api/access-reviews/instances/', 'reviews/index#listInstances', 'read'),
  r('GET', '/api/access-reviews/instances/{id}/', 'reviews/index#getInstance', 'read'),
  r('GET', '/api/access-reviews/instances/{id}/items/', 'reviews/index#listItems', 'read'),
  // activity log and histories (SPEC §6)
  r('GET', '/api/activity-logs/', 'activity/index#list', 'read'),
  r('POST', '/api/activity-logs/export', 'activity/index#exportStart', 'readwrite', ['exports']),
  r('GET', '/api/activity-logs/exports/{id}', 'activity/index#exportGet', 'read'),
  r('GET', '/api/activity-logs/verify', 'activity/index#verify', 'read'),
  r('GET', '/api/fsm/organizations/{org_id}/membership-history/', 'fsm/index#organizationMemberships', 'read'),
  r('GET', '/api/fsm/workspaces/{workspace_id}/membership-history/', 'fsm/index#workspaceMemberships', 'read'),
  r('GET', '/api/fsm/projects/{project_id}/membership-history/', 'fsm/index#projectMemberships', 'read'),
  r('GET', '/api/fsm/projects/{project_id}/role-history/', 'fsm/index#projectRoles', 'read'),
  // access certification (SPEC §9): decisions, close and apply, reports
  r('POST', '/api/access-reviews/instances/{id}/decisions', 'reviews/certify#decisions', 'readwrite'),
  r('POST', '/api/access-reviews/instances/{id}/close', 'reviews/certify#close', 'readwrite'),
  r('POST', '/api/access-reviews/instances/{id}/apply', 'reviews/certify#apply', 'readwrite'),
  r('GET', '/api/access-reviews/instances/{id}/runs', 'reviews/certify#runs', 'read'),
  r('GET', '/api/access-reviews/instances/{id}/reports/', 'reviews/certify#reports', 'read', ['reviews']),
  r('GET', '/api/access-reviews/instances/{id}/reports/{name}', 'reviews/certify#report', 'read', ['reviews']),
  // SCIM settings (SPEC §7, §8)
  r('GET', '/api/scim/settings', 'scim/settings#get', 'read'),
  r('POST', '/api/scim/settings', 'scim/settings#set', 'readwrite'),
  // access checks for the platform's services
  r('POST', '/api/access/check', 'access/index#checkOne', 'read'),
  r('GET', '/api/users/{id}/accessible-projects', 'access/index#accessible', 'read'),
  // SCIM (SPEC §8): the organization's SCIM tokens, and the protocol under /scim/v2/ (its own credential and chain)
  r('GET', '/api/scim/tokens', 'scim/tokens#list', 'read'),
  r('POST', '/api/scim/tokens', 'scim/tokens#create', 'readwrite'),
  r('DELETE', '/api/scim/tokens/{id}', 'scim/tokens#revoke', 'readwrite'),
  r('GET', '/scim/v2/ServiceProviderConfig', 'scim/index#serviceProvider', 'read'),
  r('GET', '/scim/v2/ResourceTypes', 'scim/index#resourceTypeList', 'read'),
  r('GET', '/scim/v2/ResourceTypes/{id}', 'scim/index#resourceTypeOne', 'read'),
  r('GET', '/scim/v2/Schemas', 'scim/index#schemaList', 'read'),
  r('GET', '/scim/v2/Schemas/{id}', 'scim/index#schemaOne', 'read'),
  r('GET', '/scim/v2/Users', 'scim/index#usersList', 'read'),
  r('POST', '/scim/v2/Users', 'scim/index#userCreate', 'readwrite'),
  r('GET', '/scim/v2/Users/{id}', 'scim/index#userGet', 'read'),
  r('PUT', '/scim/v2/Users/{id}', 'scim/index#userReplace', 'readwrite'),
  r('PATCH', '/scim/v2/Users/{id}', 'scim/index#userPatch', 'readwrite'),
  r('DELETE', '/scim/v2/Users/{id}', 'scim/index#userDelete', 'readwrite'),
  r('GET', '/scim/v2/Groups', 'scim/index#groupsList', 'read'),
  r('POST', '/scim/v2/Groups', 'scim/index#groupCreate', 'readwrite'),
  r('GET', '/scim/v2/Groups/{id}', 'scim/index#groupGet', 'read'),
  r('PUT', '/scim/v2/Groups/{id}', 'scim/index#groupReplace', 'readwrite'),
  r('PATCH', '/scim/v2/Groups/{id}', 'scim/index#groupPatch', 'readwrite'),
  r('DELETE', '/scim/v2/Groups/{id}', 'scim/index#groupDelete', 'readwrite'),
  // the API's own description, generated from this table and the handlers' schemas (no credentials)
  r('GET', '/api/schema/', 'openapi/index#schema', 'none'),
  r('GET', '/api/docs/', 'openapi/index#docs', 'none'),
  r('GET', '/api/docs/{asset}', 'openapi/index#asset', 'none'),
];

/** A handler reference's module and export. */
export function handlerRef(handler: string): { module: string; export: string } {
  const [module, name] = handler.split('#') as [string, string | undefined];
  return { module, export: name ?? 'handler' };
}

/**
 * The path API Gateway is given: HTTP API routes cannot end in "/", and API Gateway matches a
 * request with or without its trailing slash to the same route (the local runtime does the same).
 */
export const gatewayPath = (path: string) => (path.length > 1 ? path.replace(/\/+$/, '') : path);

/** How API Gateway matches a route: exact segments, `{name}` for one segment, trailing slash optional. */
export function routePattern(path: string): { re: RegExp; params: string[] } {
  const params: string[] = [];
  const source = gatewayPath(path)
    .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
    .replace(/\{(\w+)\}/g, (_, name: string) => {
      params.push(name);
      return '([^/]+)';
    });
  return { re: new RegExp(`^${source}/?$`), params };
}

/** What every route's function needs to authenticate its requests itself (the house construct adds it). */
export const authentication: readonly Need[] = ['signingKey', 'userPool'];

/** API Gateway's `$default` route: requests that match no route. */
export const fallback = { handler: 'not-found', table: 'none' } as const;

/** The consumer of the table's stream (activity entries, job, export and review-run slices; a review's revokes deactivate members, hence the directory). */
export const streamConsumer = { handler: 'stream/consumer', table: 'batch', needs: ['exports', 'reviews', 'directory'] as Need[] } as const;

/** The daily job that digests the activity log. */
export const digestJob = { handler: 'schedule/digest', table: 'batch' } as const;

/** The hourly SAML upkeep: IdPs back on the SSO client, warnings of signing certificates expiring within 30 days. */
export const samlUpkeepJob = { handler: 'schedule/saml-upkeep', table: 'readwrite', needs: ['sso'] as Need[] } as const;

/**
 * The user pool's triggers for SAML federation (functions/cognito/): admission before a federated
 * user exists, the assertion's groups, and just-in-time provisioning on every sign-in.
 */
export const cognitoTriggers = {
  preSignUp: { handler: 'cognito/pre-sign-up', table: 'read' },
  inboundFederation: { handler: 'cognito/inbound-federation', table: 'readwrite' },
  preTokenGeneration: { handler: 'cognito/pre-token', table: 'readwrite' },
} as const;

/** The periodic sweep that starts due access reviews (every `reviewSweepMinutes` minutes). */
export const reviewSweepJob = { handler: 'schedule/reviews', table: 'readwrite' } as const;
export const reviewSweepMinutes = 15;
