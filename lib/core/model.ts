import type { Role, RoleSource } from './roles.js';
import type { Overrides } from './permissions.js';
import type { TokenPolicy } from './settings.js';

/** A person, system-wide. Email is unique across the system and stored lower-case. */
export interface User {
  id: number;
  email: string;
  username: string;
  first_name: string;
  last_name: string;
  phone: string;
  allow_newsletters: boolean | null;
  date_joined: string;
  last_activity: string;
  active_organization: number | null;
  /**
   * Whether the address is proven: false only for people who signed up through an organization's
   * shared link (anyone can type any address there). Absent on older records: proven.
   */
  email_verified?: boolean;
}

/** The user fields copied onto each membership so member listings are one Query. */
export type MemberUser = Pick<User, 'id' | 'email' | 'username' | 'first_name' | 'last_name' | 'last_activity'>;

export interface Organization {
  id: number;
  title: string;
  created_at: string;
  created_by: number;
  contact_info: string | null;
  default_role: Role;
  /** Invite link token (not a credential for the API). */
  token: string;
  /** Token policy (LSE's JWT settings); defaults apply where unset. */
  token_policy?: Partial<TokenPolicy>;
  /** Configurable permissions restricted by the Owner. */
  permission_overrides?: Overrides;
  /** Days activity entries are kept; absent or null: forever. */
  activity_log_retention_days?: number | null;
}

export interface Membership {
  organization: number;
  user_id: number;
  role: Role;
  role_source: RoleSource;
  user_type: 'standard';
  created_at: string;
  updated_at: string;
  /** Set when the member was soft-deleted. */
  deleted_at: string | null;
  user: MemberUser;
}

/** Who is calling: resolved on each request from a credential and fresh membership data. */
export interface Principal {
  userId: number;
  orgId: number;
  role: Role;
  /** How the caller authenticated: legacy token, personal access token, or a Cognito session. */
  via: Via;
  /** The organization's permission overrides, read with the membership on this request. */
  overrides: Overrides;
  /** The caller's email (from the membership read on this request). */
  email?: string;
  /** A Cognito session presented for the first time: the request records the sign-in. */
  signIn?: { session: string; expires: number };
}

export const VIAS = ['token', 'pat', 'cognito'] as const;
export type Via = (typeof VIAS)[number];

export const memberUserOf = (u: User): MemberUser => ({
  id: u.id,
  email: u.email,
  username: u.username,
  first_name: u.first_name,
  last_name: u.last_name,
  last_activity: u.last_activity,
});

export const isActiveMembership = (m: Pick<Membership, 'role' | 'deleted_at'>) =>
  m.deleted_at === null && m.role !== 'NO' && m.role !== 'DI';
