import { z } from 'zod';
import { directory } from '../../lib/identity/directory.js';
import { acceptInvite, getInvite, resetInvite, revokeInvite, sendInvites } from '../../lib/org/invites.js';
import { mailer } from '../../lib/org/mailer.js';
import { api, ok, origin, roleField, routed } from '../http.js';
import { userShape } from '../shapes.js';
import { Detail, InviteLink, InvitesSent, User } from '../schemas.js';

/** GET /api/invite: `{invite_url, token}` of the organization's invite link. */
export const get = api({ responses: { 200: InviteLink } }, async ({ principal, event, db }) => ok(await getInvite(db, principal, origin(event))));

/** POST /api/invite/reset-token: a new link; the old one stops working. */
export const reset = api({ responses: { 201: InviteLink } }, async ({ principal, event, db }) => ok(await resetInvite(db, principal, origin(event)), 201));

const sendBody = z.object({
  emails: z.array(z.email().max(254)).min(1).max(100),
  role: roleField.nullable().optional(),
  projects: z.array(z.number().int().positive()).max(1000).optional(),
  workspaces: z.array(z.number().int().positive()).max(1000).optional(),
  user_type: z.literal('standard').optional(),
});

/** POST /api/invite/send-email. */
export const send = api({ status: 200, responses: { 200: InvitesSent }, body: sendBody }, async ({ principal, body, event, db }) => ok(await sendInvites(db, principal, body, origin(event), mailer())));

/** POST /api/invite/revoke {email}. */
export const revoke = api({ status: 200, responses: { 200: Detail }, body: z.object({ email: z.email().max(254) }) }, async ({ principal, body, db }) => ok(await revokeInvite(db, principal, body.email)));

const text = z.string().max(256);
const signupBody = z.object({
  token: z.string().min(1).max(256),
  email: z.email().max(254),
  password: z.string().min(8).max(256).optional(),
  username: text.min(1).optional(),
  first_name: text.optional(),
  last_name: text.optional(),
});

/**
 * POST /api/invite/signup (Roster's API for LSE's sign-up page): join through an invite link. New
 * people call it without credentials; people with an account call it signed in.
 */
export const signup = api({ responses: { 201: User }, body: signupBody, auth: 'optional', source: 'invite' }, async ({ caller, body, db }) => {
  const { user, membership } = await acceptInvite(db, body, caller, directory());
  return ok(userShape({ ...user, active_organization: membership.organization }, [membership]), 201);
});

/** The Lambda handler of this module's routes (see functions/routes.ts). */
export const handler = routed('invite/index', { get, reset, revoke, send, signup });
