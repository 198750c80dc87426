import type { CustomMessageTriggerEvent } from 'aws-lambda';
import { inviteText } from '../../lib/mailer.js';

/**
 * Cognito CustomMessage trigger: Roster's invitations (AdminCreateUser with an `invite_url` in the
 * client metadata) get the invite link in the message. Cognito requires the code parameter in an
 * AdminCreateUser message; it is the temporary password, which Roster's sign-up does not need.
 */
export async function handler(event: CustomMessageTriggerEvent): Promise<CustomMessageTriggerEvent> {
  const meta = event.request.clientMetadata ?? {};
  if (event.triggerSource === 'CustomMessage_AdminCreateUser' && meta.invite_url) {
    event.response.emailSubject = `You are invited to ${meta.organization ?? 'Roster'}`;
    event.response.emailMessage =
      inviteText({ to: '', organization: meta.organization ?? 'Roster', inviteUrl: meta.invite_url, invitedBy: meta.invited_by ?? 'An administrator' }).replace(/\n/g, '<br>') +
      `<br>(Your sign-in name is ${event.request.usernameParameter}; temporary code ${event.request.codeParameter}.)`;
  }
  return event;
}
