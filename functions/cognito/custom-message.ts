import type { CustomMessageTriggerEvent } from 'aws-lambda';
import { inviteText } from '../../lib/org/mailer.js';

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Organization titles and names are anyone's free text: never HTML in an email sent in the platform's name. */
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML[c]!);

/**
 * Cognito CustomMessage trigger: Roster's invitations (AdminCreateUser with an `invite_url` in the
 * client metadata) get the invite link in the message. Cognito requires the code parameter in an
 * AdminCreateUser message; it is the temporary password, which Roster's sign-up does not need.
 */
export async function handler(event: CustomMessageTriggerEvent): Promise<CustomMessageTriggerEvent> {
  const meta = event.request.clientMetadata ?? {};
  if (event.triggerSource === 'CustomMessage_AdminCreateUser' && meta.invite_url) {
    const organization = meta.organization ?? 'Roster';
    event.response.emailSubject = `You are invited to ${organization}`;
    const text = inviteText({ to: '', organization, inviteUrl: meta.invite_url, invitedBy: meta.invited_by ?? 'An administrator' });
    event.response.emailMessage =
      escapeHtml(text).replace(/\n/g, '<br>') +
      `<br>(Your sign-in name is ${event.request.usernameParameter}; temporary code ${event.request.codeParameter}.)`;
  }
  return event;
}
