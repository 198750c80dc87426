/**
 * The handler modules of the route table, imported statically so that one bundle (the function
 * serving the OpenAPI document) holds every route's spec. The document generator refuses a route
 * whose module is missing here, so a new module cannot be left out of the document unnoticed.
 */
import * as accessIndex from '../access/index.js';
import * as activityIndex from '../activity/index.js';
import * as currentUserGet from '../current-user/get.js';
import * as currentUserResetToken from '../current-user/reset-token.js';
import * as currentUserToken from '../current-user/token.js';
import * as currentUserUpdate from '../current-user/update.js';
import * as currentUserWhoami from '../current-user/whoami.js';
import * as fsmIndex from '../fsm/index.js';
import * as inviteIndex from '../invite/index.js';
import * as jobsGet from '../jobs/get.js';
import * as jwtSettings from '../jwt/settings.js';
import * as organizationsCreate from '../organizations/create.js';
import * as organizationsGet from '../organizations/get.js';
import * as organizationsList from '../organizations/list.js';
import * as organizationsMemberDelete from '../organizations/member-delete.js';
import * as organizationsMemberGet from '../organizations/member-get.js';
import * as organizationsMembershipsList from '../organizations/memberships-list.js';
import * as organizationsMembershipsPatch from '../organizations/memberships-patch.js';
import * as organizationsPermissions from '../organizations/permissions.js';
import * as organizationsSeatReport from '../organizations/seat-report.js';
import * as organizationsSetDefaultRole from '../organizations/set-default-role.js';
import * as organizationsTransferOwnership from '../organizations/transfer-ownership.js';
import * as organizationsUpdate from '../organizations/update.js';
import * as projectsIndex from '../projects/index.js';
import * as samlSettings from '../saml/settings.js';
import * as reviewsCertify from '../reviews/certify.js';
import * as reviewsIndex from '../reviews/index.js';
import * as scimSettings from '../scim/settings.js';
import * as scimTokens from '../scim/tokens.js';
import * as tokenIndex from '../token/index.js';
import * as usersCreate from '../users/create.js';
import * as usersDelete from '../users/delete.js';
import * as usersGet from '../users/get.js';
import * as usersList from '../users/list.js';
import * as usersUpdate from '../users/update.js';
import * as workspacesIndex from '../workspaces/index.js';

export const modules: Record<string, Record<string, unknown>> = {
  'access/index': accessIndex,
  'activity/index': activityIndex,
  'current-user/get': currentUserGet,
  'current-user/reset-token': currentUserResetToken,
  'current-user/token': currentUserToken,
  'current-user/update': currentUserUpdate,
  'current-user/whoami': currentUserWhoami,
  'fsm/index': fsmIndex,
  'invite/index': inviteIndex,
  'jobs/get': jobsGet,
  'jwt/settings': jwtSettings,
  'organizations/create': organizationsCreate,
  'organizations/get': organizationsGet,
  'organizations/list': organizationsList,
  'organizations/member-delete': organizationsMemberDelete,
  'organizations/member-get': organizationsMemberGet,
  'organizations/memberships-list': organizationsMembershipsList,
  'organizations/memberships-patch': organizationsMembershipsPatch,
  'organizations/permissions': organizationsPermissions,
  'organizations/seat-report': organizationsSeatReport,
  'organizations/set-default-role': organizationsSetDefaultRole,
  'organizations/transfer-ownership': organizationsTransferOwnership,
  'organizations/update': organizationsUpdate,
  'projects/index': projectsIndex,
  'saml/settings': samlSettings,
  'reviews/certify': reviewsCertify,
  'reviews/index': reviewsIndex,
  'scim/settings': scimSettings,
  'scim/tokens': scimTokens,
  'token/index': tokenIndex,
  'users/create': usersCreate,
  'users/delete': usersDelete,
  'users/get': usersGet,
  'users/list': usersList,
  'users/update': usersUpdate,
  'workspaces/index': workspacesIndex,
};
