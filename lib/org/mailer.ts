import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AdminCreateUserCommand,
  CognitoIdentityProviderClient,
  UnsupportedUserStateException,
  UsernameExistsException,
} from '@aws-sdk/client-cognito-identity-provider';

export interface InviteMessage {
  to: string;
  organization: string;
  inviteUrl: string;
  invitedBy: string;
}

/** The message cannot go out to this address (e.g. it has a confirmed account); the link is shared by hand. */
export class UndeliverableError extends Error {}

/** Where invitation emails go. */
export interface Mailer {
  sendInvite(message: InviteMessage): Promise<void>;
}

export const inviteText = (m: InviteMessage) =>
  `${m.invitedBy} invited you to join ${m.organization} on Roster.\n\nAccept the invitation and choose your password here:\n${m.inviteUrl}\n`;

/** Local runtime: each message is an .eml file in ROSTER_DATA_DIR/outbox/ that a person can open. */
export class OutboxMailer implements Mailer {
  constructor(private readonly dir: string) {}

  async sendInvite(m: InviteMessage): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const date = new Date();
    const eml = [
      'From: Roster <no-reply@roster.local>',
      `To: ${m.to}`,
      `Subject: You are invited to ${m.organization}`,
      `Date: ${date.toUTCString()}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      inviteText(m),
    ].join('\r\n');
    await writeFile(join(this.dir, `${date.toISOString().replace(/[:.]/g, '-')}-${m.to.replace(/[^a-z0-9@._-]/gi, '_')}.eml`), eml);
  }
}

/**
 * AWS: the invitation goes out as Cognito's invitation message (AdminCreateUser with email
 * delivery). The link travels as client metadata, which the pool's CustomMessage trigger
 * (functions/cognito/custom-message.ts) writes into the message. An account that exists already gets
 * the message again (RESEND).
 */
export class CognitoMailer implements Mailer {
  constructor(
    private readonly userPoolId: string,
    private readonly client = new CognitoIdentityProviderClient({}),
  ) {}

  async sendInvite(m: InviteMessage): Promise<void> {
    const input = {
      UserPoolId: this.userPoolId,
      Username: m.to,
      DesiredDeliveryMediums: ['EMAIL' as const],
      UserAttributes: [
        { Name: 'email', Value: m.to },
        { Name: 'email_verified', Value: 'true' },
      ],
      ClientMetadata: { invite_url: m.inviteUrl, organization: m.organization, invited_by: m.invitedBy },
    };
    try {
      await this.client.send(new AdminCreateUserCommand(input));
    } catch (err) {
      if (!(err instanceof UsernameExistsException)) throw err;
      try {
        await this.client.send(new AdminCreateUserCommand({ ...input, MessageAction: 'RESEND', UserAttributes: undefined }));
      } catch (resend) {
        // Cognito resends only to accounts still waiting for their first password.
        if (resend instanceof UnsupportedUserStateException) throw new UndeliverableError('has a sign-in account already: share the invite link with them');
        throw resend;
      }
    }
  }
}

let cached: Mailer | undefined;
/** ROSTER_OUTBOX_DIR (local runtime) or the user pool (AWS). */
export function mailer(): Mailer {
  if (cached) return cached;
  const outbox = process.env.ROSTER_OUTBOX_DIR;
  const pool = process.env.COGNITO_USER_POOL_ID;
  if (outbox) cached = new OutboxMailer(outbox);
  else if (pool) cached = new CognitoMailer(pool);
  else throw new Error('No mail delivery configured: set ROSTER_OUTBOX_DIR or COGNITO_USER_POOL_ID');
  return cached;
}
