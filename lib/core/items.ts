/**
 * How records become table items and back: the item builders the services write in their
 * transactions, and the readers that strip keys and internal attributes from what they read.
 */
import type { Membership, Organization, User } from './model.js';
import { memberUserOf } from './model.js';
import { keys, stripKeys } from './table.js';
import { hashToken } from './util.js';

const clean = (item: Record<string, unknown>) => {
  const { tokenHash: _t, type: _type, search: _s, ...rest } = stripKeys(item);
  return rest;
};
export const asUser = (item: Record<string, unknown>) => clean(item) as unknown as User;
export const asMembership = (item: Record<string, unknown>) => clean(item) as unknown as Membership;
export const asOrganization = (item: Record<string, unknown>) => clean(item) as unknown as Organization;

export interface NewUser {
  email: string;
  username?: string;
  first_name?: string;
  last_name?: string;
  phone?: string;
  allow_newsletters?: boolean | null;
  email_verified?: boolean;
}

export function newUserItem(id: number, input: NewUser, activeOrganization: number | null, at: string): User {
  const email = input.email.toLowerCase();
  return {
    id,
    email,
    username: input.username ?? email,
    first_name: input.first_name ?? '',
    last_name: input.last_name ?? '',
    phone: input.phone ?? '',
    allow_newsletters: input.allow_newsletters ?? null,
    date_joined: at,
    last_activity: at,
    active_organization: activeOrganization,
    email_verified: input.email_verified ?? true,
  };
}

/** The writes that create a user: the email claim (unique, lower-case) and the user item. */
export function userPuts(table: string, user: User) {
  return [
    {
      Put: {
        TableName: table,
        Item: { ...keys.email(user.email), type: 'email', userId: user.id, active_organization: user.active_organization },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    },
    { Put: { TableName: table, Item: { ...keys.user(user.id), type: 'user', ...user }, ConditionExpression: 'attribute_not_exists(PK)' } },
  ];
}

export function membershipItem(orgId: number, user: User, role: Membership['role'], source: Membership['role_source'], at: string) {
  const m: Membership = {
    organization: orgId,
    user_id: user.id,
    role,
    role_source: source,
    user_type: 'standard',
    created_at: at,
    updated_at: at,
    deleted_at: null,
    user: memberUserOf(user),
  };
  return { ...keys.membership(orgId, user.id), ...keys.membershipByUser(user.id, orgId), type: 'membership', ...m, search: searchText(user) };
}

/** What member search matches: email, names and username, lower-case, in one attribute. */
export const searchText = (u: Pick<User, 'email' | 'username' | 'first_name' | 'last_name'>) =>
  [u.email, u.username, u.first_name, u.last_name].join(' ').toLowerCase();


/** The lookup item that turns an organization's invite-link token into its organization. */
export const orgInviteLookup = (orgId: number, token: string) => ({ ...keys.token(hashToken(token)), type: 'org_invite', orgId });

/** A workspace membership (GSI1: the user's workspaces). */
export const workspaceMemberItem = (orgId: number, wsId: number, userId: number, addedBy: number | null, at: string) => ({
  ...keys.workspaceMember(orgId, wsId, userId),
  ...keys.workspaceMemberByUser(userId, orgId, wsId),
  type: 'workspace_member',
  workspace: wsId,
  user_id: userId,
  added_by: addedBy,
  created_at: at,
});

/** A direct project membership (GSI1: the user's projects). */
export const projectMemberItem = (orgId: number, projectId: number, userId: number, addedBy: number | null, at: string) => ({
  ...keys.projectMember(orgId, projectId, userId),
  ...keys.projectMemberByUser(userId, orgId, projectId),
  type: 'project_member',
  project: projectId,
  user_id: userId,
  added_by: addedBy,
  created_at: at,
});
