import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, getItem, batchGet, cancellationReasons, transactWrite } from '../core/db.js';
import type { Directory } from '../identity/directory.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { asMembership, asOrganization, asUser, membershipItem, orgInviteLookup, projectMemberItem, workspaceMemberItem } from '../core/items.js';
import { type Mailer, UndeliverableError } from './mailer.js';
import type { Membership, Organization, Principal, User } from '../core/model.js';
import { authorize } from './organizations.js';
import { type Role, isActive } from '../core/roles.js';
import { keys } from '../core/table.js';
import { insertUser } from './users.js';
import { hashToken, newToken, now } from '../core/util.js';

/** How long an emailed invitation stays valid. */
export const INVITE_DAYS = 7;

const inviteKey = (orgId: number, email: string) => ({ PK: keys.organization(orgId).PK, SK: `INVITE#${email}` });
export const inviteUrl = (base: string, token: string) => `${base}/user/signup/?token=${token}`;

async function organization(db: Db, orgId: number): Promise<Organization> {
  const r = await getItem(db, keys.organization(orgId));
  if (!r) throw new NotFoundError();
  return asOrganization(r);
}

/** GET /api/invite: the organization's invite link (joining through it gives role NO until someone assigns one). */
export async function getInvite(db: Db, p: Principal, base: string) {
  await authorize(db, p, p.orgId, 'organization.invite');
  const org = await organization(db, p.orgId);
  return { invite_url: inviteUrl(base, org.token), token: org.token };
}

/** POST /api/invite/reset-token: a new link; the old one is dead in the same transaction. */
export async function resetInvite(db: Db, p: Principal, base: string) {
  await authorize(db, p, p.orgId, 'organization.invite');
  const org = await organization(db, p.orgId);
  const token = newToken();
  try {
    await transactWrite(db, [
      {
        Update: {
          TableName: db.table,
          Key: keys.organization(p.orgId),
          UpdateExpression: 'SET #t = :new',
          ConditionExpression: '#t = :old',
          ExpressionAttributeNames: { '#t': 'token' },
          ExpressionAttributeValues: { ':new': token, ':old': org.token },
        },
      },
      { Delete: { TableName: db.table, Key: keys.token(hashToken(org.token)) } },
      { Put: { TableName: db.table, Item: orgInviteLookup(p.orgId, token) } },
    ]);
  } catch (err) {
    if (cancellationReasons(err)) throw new ConflictError('The invite link was reset meanwhile; retry.');
    throw err;
  }
  return { invite_url: inviteUrl(base, token), token };
}

export interface InviteRequest {
  emails: string[];
  role?: Role | null;
  projects?: number[];
  workspaces?: number[];
}

/**
 * POST /api/invite/send-email: one single-use invitation per address (replacing an earlier one),
 * valid for INVITE_DAYS, carrying the role and the projects and workspaces to join. Addresses that
 * are already members are skipped and reported.
 */
export async function sendInvites(db: Db, p: Principal, req: InviteRequest, base: string, mail: Mailer) {
  await authorize(db, p, p.orgId, 'organization.invite');
  const org = await organization(db, p.orgId);
  const role = req.role ?? org.default_role;
  if (role === 'OW' || role === 'DI') throw new ValidationError('Validation error', { role: ['Invitations cannot give the Owner or Deactivated role.'] });
  const emails = [...new Set(req.emails.map((e) => e.toLowerCase()))];
  const claims = await batchGet(db, emails.map((e) => keys.email(e)), true);
  const userIds = new Map(claims.map((c) => [String(c.PK).slice('EMAIL#'.length), c.userId as number]));
  const memberships = await batchGet(db, [...userIds.values()].map((u) => keys.membership(p.orgId, u)), true);
  const members = new Set(memberships.filter((m) => m.deleted_at === null).map((m) => m.user_id as number));
  const inviter = asUser((await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.user(p.userId) }))).Item ?? { email: 'An administrator' });

  const sent: string[] = [];
  const skipped: { email: string; reason: string; invite_url?: string }[] = [];
  for (const email of emails) {
    const uid = userIds.get(email);
    if (uid !== undefined && members.has(uid)) {
      skipped.push({ email, reason: 'already a member' });
      continue;
    }
    const token = newToken();
    const hash = hashToken(token);
    const expires = new Date(Date.now() + INVITE_DAYS * 86_400_000);
    const ttl = Math.floor(expires.getTime() / 1000);
    const existing = (await getItem(db, inviteKey(p.orgId, email)));
    await transactWrite(db, [
      {
        Put: {
          TableName: db.table,
          Item: {
            ...inviteKey(p.orgId, email),
            type: 'invite',
            email,
            role,
            projects: req.projects ?? [],
            workspaces: req.workspaces ?? [],
            invited_by: p.userId,
            created_at: now(),
            expires_at: expires.toISOString(),
            tokenHash: hash,
            expiresAt: ttl,
          },
        },
      },
      { Put: { TableName: db.table, Item: { ...keys.token(hash), type: 'invite', orgId: p.orgId, email, expiresAt: ttl } } },
      ...(existing ? [{ Delete: { TableName: db.table, Key: keys.token(String(existing.tokenHash)) } }] : []),
    ]);
    try {
      await mail.sendInvite({ to: email, organization: org.title, inviteUrl: inviteUrl(base, token), invitedBy: inviter.email });
    } catch (err) {
      if (!(err instanceof UndeliverableError)) throw err;
      // The invitation stands; the administrator shares its link.
      skipped.push({ email, reason: err.message, invite_url: inviteUrl(base, token) });
      continue;
    }
    sent.push(email);
  }
  return { detail: 'Invites sent.', sent, skipped };
}

/** POST /api/invite/revoke {email}: the invitation's link stops working. */
export async function revokeInvite(db: Db, p: Principal, email: string) {
  await authorize(db, p, p.orgId, 'organization.invite');
  const key = inviteKey(p.orgId, email.toLowerCase());
  const invite = (await getItem(db, key));
  if (!invite) throw new NotFoundError('No pending invitation for this email.');
  try {
    await transactWrite(db, [
      { Delete: { TableName: db.table, Key: key, ConditionExpression: 'tokenHash = :h', ExpressionAttributeValues: { ':h': invite.tokenHash } } },
      { Delete: { TableName: db.table, Key: keys.token(String(invite.tokenHash)) } },
    ]);
  } catch (err) {
    if (cancellationReasons(err)) throw new NotFoundError('No pending invitation for this email.');
    throw err;
  }
  return { detail: 'Invite revoked.' };
}

export interface Signup {
  token: string;
  email: string;
  password?: string;
  first_name?: string;
  last_name?: string;
  username?: string;
}

/**
 * Join an organization through an invite: an emailed invitation gives its role (single use, the
 * address must match); the organization's link gives Not Activated until someone assigns a role.
 * A new person gets a user (and a sign-in account with the password). Someone who already has an
 * account gets only the new membership (replacing a deleted one), through an emailed invitation
 * or, with the link, signed in as that account.
 */
export async function acceptInvite(db: Db, s: Signup, caller: Principal | undefined, directory: Directory): Promise<{ user: User; membership: Membership }> {
  const email = s.email.toLowerCase();
  const found = (await getItem(db, keys.token(hashToken(s.token))));
  const valid = found && (found.type === 'org_invite' || (found.type === 'invite' && found.expiresAt * 1000 > Date.now()));
  if (!valid) throw new NotFoundError('This invitation is invalid, expired or revoked.');
  if (found.type === 'invite' && found.email !== email) throw new ValidationError('Validation error', { email: ['This invitation was sent to another address.'] });
  const orgId = found.orgId as number;
  let role: Role = 'NO';
  const consume: Record<string, unknown>[] = [];
  let invite: Record<string, unknown> | undefined;
  if (found.type === 'invite') {
    invite = (await getItem(db, inviteKey(orgId, email)));
    if (!invite || invite.tokenHash !== hashToken(s.token)) throw new NotFoundError('This invitation is invalid, expired or revoked.');
    role = invite.role as Role;
    consume.push(
      { Delete: { TableName: db.table, Key: inviteKey(orgId, email), ConditionExpression: 'tokenHash = :h', ExpressionAttributeValues: { ':h': invite.tokenHash } } },
      { Delete: { TableName: db.table, Key: keys.token(String(invite.tokenHash)) } },
    );
  }

  // An emailed invitation also brings its workspaces and projects (those that still exist).
  const joins = invite ? await invitedPlaces(db, orgId, invite) : [];

  const claim = (await getItem(db, keys.email(email)));
  if (!claim) {
    if (caller) throw new ValidationError('Validation error', { email: ['Sign up without credentials, or use the address of your account.'] });
    const created = await insertUser(
      db,
      orgId,
      // Anyone can type any address on the shared link: such an address is not proven.
      { email, username: s.username, first_name: s.first_name, last_name: s.last_name, password: s.password, email_verified: found.type === 'invite' },
      { role, source: 'manual', directory, extra: (id) => [...consume, ...joins.map((j) => j(id))] },
    );
    return created;
  }
  // An existing account joins through an emailed invitation (single use, sent to that address: the
  // token proves the address) or, through the organization's link, signed in as that account.
  const proven = found.type === 'invite' || caller?.userId === claim.userId;
  if (!proven) throw new ConflictError('An account with this email exists: sign in and accept the invitation with your credentials.');
  if (caller && caller.userId !== claim.userId) throw new ConflictError('This invitation is for another account.');
  const user = asUser((await getItem(db, keys.user(claim.userId)))!);
  // An account made through the shared link never proved its address; the emailed invitation does:
  // whoever holds it takes the account over with a new password (the squatter is locked out).
  const takeover = found.type === 'invite' && user.email_verified === false;
  if (takeover && !s.password) throw new ValidationError('Validation error', { password: ['Choose a password for your account.'] });
  const switchTo = isActive(role);
  const item = membershipItem(orgId, { ...user, active_organization: switchTo ? orgId : user.active_organization }, role, 'manual', now());
  try {
    await transactWrite(db, [
      // A deleted member comes back through a new invitation: their membership is replaced.
      { Put: { TableName: db.table, Item: item, ConditionExpression: 'attribute_not_exists(PK) OR deleted_at <> :null', ExpressionAttributeValues: { ':null': null } } },
      ...consume,
      ...joins.map((j) => j(user.id)),
      // An active role makes the organization the active one (what a Cognito sign-in acts in); a
      // Not Activated membership must not, or the person could no longer sign in anywhere.
      ...(switchTo || takeover
        ? [
            { Update: { TableName: db.table, Key: keys.user(user.id), UpdateExpression: 'SET active_organization = :o, email_verified = :t', ExpressionAttributeValues: { ':o': switchTo ? orgId : user.active_organization, ':t': true } } },
            { Update: { TableName: db.table, Key: keys.email(email), UpdateExpression: 'SET active_organization = :o', ExpressionAttributeValues: { ':o': switchTo ? orgId : user.active_organization } } },
          ]
        : []),
    ] as never);
  } catch (err) {
    if (cancellationReasons(err)?.[0]?.code === 'ConditionalCheckFailed') throw new ConflictError('You are already a member of this organization.');
    if (cancellationReasons(err)) throw new NotFoundError('This invitation is invalid, expired or revoked.');
    throw err;
  }
  if (takeover) await directory.createUser(email, s.password!);
  if (isActive(role)) await directory.enable(email);
  return { user: { ...user, active_organization: switchTo ? orgId : user.active_organization }, membership: asMembership(item) };
}

/**
 * The workspace and project memberships an emailed invitation carries (those that still exist), as
 * transaction writes for the joining user: at most 80, so that acceptance stays one transaction.
 */
async function invitedPlaces(db: Db, orgId: number, invite: Record<string, unknown>): Promise<((userId: number) => Record<string, unknown>)[]> {
  const workspaces = ((invite.workspaces ?? []) as number[]).slice(0, 40);
  const projects = ((invite.projects ?? []) as number[]).slice(0, 40);
  const existing = await batchGet(db, [...workspaces.map((w) => keys.workspace(orgId, w)), ...projects.map((p) => keys.project(orgId, p))], true);
  const has = new Set(existing.map((i) => i.SK as string));
  const at = now();
  return [
    ...workspaces
      .filter((w) => has.has(keys.workspace(orgId, w).SK))
      .map((w) => (userId: number) => ({ Put: { TableName: db.table, Item: workspaceMemberItem(orgId, w, userId, null, at) } })),
    ...projects
      .filter((p) => has.has(keys.project(orgId, p).SK))
      .map((p) => (userId: number) => ({ Put: { TableName: db.table, Item: projectMemberItem(orgId, p, userId, null, at) } })),
  ];
}

