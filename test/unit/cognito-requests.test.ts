import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CognitoIdentityProviderClient,
  InvalidParameterException,
  InvalidPasswordException,
  UnsupportedUserStateException,
  UserNotFoundException,
  UsernameExistsException,
} from '@aws-sdk/client-cognito-identity-provider';
import type { CustomMessageTriggerEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler as customMessage } from '../../functions/cognito/custom-message.js';
import { CognitoDirectory } from '../../lib/identity/directory.js';
import { ValidationError } from '../../lib/core/errors.js';
import { CognitoMailer, OutboxMailer, UndeliverableError } from '../../lib/org/mailer.js';

/** One request as it would have gone to Cognito: the command, its input and its X-Amz-Target. */
interface Sent {
  command: string;
  input: Record<string, unknown>;
  target: string | undefined;
}

/**
 * A real Cognito client that never reaches the network: a middleware at the end of the
 * finalizeRequest step (after serialization, retries and signing) records each request and
 * answers it itself. `fail` decides, per request, whether to throw one of the SDK's exceptions.
 */
function recordingClient(fail: (sent: Sent, index: number) => Error | undefined = () => undefined) {
  const client = new CognitoIdentityProviderClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
  const sent: Sent[] = [];
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      const request = (args as { request?: { headers?: Record<string, string> } }).request;
      const entry: Sent = { command: String(context.commandName), input: structuredClone(args.input as Record<string, unknown>), target: request?.headers?.['x-amz-target'] };
      sent.push(entry);
      const error = fail(entry, sent.length - 1);
      if (error) throw error;
      return { output: { $metadata: {} }, response: { statusCode: 200, headers: {}, body: undefined } } as never;
    },
    { step: 'finalizeRequest', priority: 'low', name: 'recordAndAnswer' },
  );
  return { client, sent };
}

const meta = { $metadata: {} };
const POOL = 'eu-west-1_abc';

describe('CognitoDirectory request shapes', () => {
  it('creates the account without a message, verified, then sets a permanent password', async () => {
    const { client, sent } = recordingClient();
    await new CognitoDirectory({ userPoolId: POOL, client, globalSignOut: true }).createUser('a@b.co', 'Pw-123456!');
    expect(sent.map((s) => s.command)).toEqual(['AdminCreateUserCommand', 'AdminSetUserPasswordCommand']);
    expect(sent.map((s) => s.target)).toEqual(['AWSCognitoIdentityProviderService.AdminCreateUser', 'AWSCognitoIdentityProviderService.AdminSetUserPassword']);
    expect(sent[0]!.input).toEqual({
      UserPoolId: POOL,
      Username: 'a@b.co',
      MessageAction: 'SUPPRESS',
      UserAttributes: [
        { Name: 'email', Value: 'a@b.co' },
        { Name: 'email_verified', Value: 'true' },
      ],
    });
    expect(sent[1]!.input).toEqual({ UserPoolId: POOL, Username: 'a@b.co', Password: 'Pw-123456!', Permanent: true });
  });

  it('still sets the password when the account exists already (UsernameExistsException)', async () => {
    const { client, sent } = recordingClient((s) => (s.command === 'AdminCreateUserCommand' ? new UsernameExistsException({ message: 'exists', ...meta }) : undefined));
    await expect(new CognitoDirectory({ userPoolId: POOL, client }).createUser('a@b.co', 'Pw-123456!')).resolves.toBeUndefined();
    expect(sent.map((s) => s.command)).toEqual(['AdminCreateUserCommand', 'AdminSetUserPasswordCommand']);
    expect(sent[1]!.input).toMatchObject({ UserPoolId: POOL, Username: 'a@b.co', Password: 'Pw-123456!', Permanent: true });
  });

  it('does not set a password when creating the account fails for another reason', async () => {
    const { client, sent } = recordingClient((s) => (s.command === 'AdminCreateUserCommand' ? new InvalidParameterException({ message: 'bad email', ...meta }) : undefined));
    await expect(new CognitoDirectory({ userPoolId: POOL, client }).createUser('a@b.co', 'Pw-123456!')).rejects.toBeInstanceOf(InvalidParameterException);
    expect(sent.map((s) => s.command)).toEqual(['AdminCreateUserCommand']);
  });

  it('disables the account and then signs it out everywhere, in the same pool and for the same username', async () => {
    const { client, sent } = recordingClient();
    await new CognitoDirectory({ userPoolId: POOL, client, globalSignOut: true }).disable('a@b.co');
    expect(sent.map((s) => s.command)).toEqual(['AdminDisableUserCommand', 'AdminUserGlobalSignOutCommand']);
    expect(sent.map((s) => s.target)).toEqual(['AWSCognitoIdentityProviderService.AdminDisableUser', 'AWSCognitoIdentityProviderService.AdminUserGlobalSignOut']);
    for (const s of sent) expect(s.input).toEqual({ UserPoolId: POOL, Username: 'a@b.co' });
  });

  it('signs out everywhere by default (globalSignOut unset)', async () => {
    const { client, sent } = recordingClient();
    await new CognitoDirectory({ userPoolId: POOL, client }).disable('a@b.co');
    expect(sent.map((s) => s.command)).toEqual(['AdminDisableUserCommand', 'AdminUserGlobalSignOutCommand']);
  });

  it('only disables when globalSignOut is false (cognito-local)', async () => {
    const { client, sent } = recordingClient();
    await new CognitoDirectory({ userPoolId: POOL, client, globalSignOut: false }).disable('a@b.co');
    expect(sent.map((s) => s.command)).toEqual(['AdminDisableUserCommand']);
    expect(sent[0]!.input).toEqual({ UserPoolId: POOL, Username: 'a@b.co' });
  });

  it('swallows UserNotFoundException on disable (a member without an account) and sends nothing more', async () => {
    const { client, sent } = recordingClient(() => new UserNotFoundException({ message: 'User does not exist.', ...meta }));
    await expect(new CognitoDirectory({ userPoolId: POOL, client, globalSignOut: true }).disable('a@b.co')).resolves.toBeUndefined();
    expect(sent.map((s) => s.command)).toEqual(['AdminDisableUserCommand']);
  });

  it('passes on other failures of disable', async () => {
    const { client } = recordingClient(() => new InvalidParameterException({ message: 'nope', ...meta }));
    await expect(new CognitoDirectory({ userPoolId: POOL, client }).disable('a@b.co')).rejects.toBeInstanceOf(InvalidParameterException);
  });

  it('enables the account with AdminEnableUser, and swallows UserNotFoundException', async () => {
    const { client, sent } = recordingClient();
    await new CognitoDirectory({ userPoolId: POOL, client }).enable('a@b.co');
    expect(sent).toEqual([{ command: 'AdminEnableUserCommand', input: { UserPoolId: POOL, Username: 'a@b.co' }, target: 'AWSCognitoIdentityProviderService.AdminEnableUser' }]);

    const missing = recordingClient(() => new UserNotFoundException({ message: 'User does not exist.', ...meta }));
    await expect(new CognitoDirectory({ userPoolId: POOL, client: missing.client }).enable('a@b.co')).resolves.toBeUndefined();
    expect(missing.sent.map((s) => s.command)).toEqual(['AdminEnableUserCommand']);
  });

  it('turns InvalidPasswordException into a 400 ValidationError on the password field', async () => {
    const { client, sent } = recordingClient(() => new InvalidPasswordException({ message: 'Password did not conform with policy: Password not long enough', ...meta }));
    const err = await new CognitoDirectory({ userPoolId: POOL, client }).setPassword('a@b.co', 'short').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect(v.status).toBe(400);
    expect(v.body()).toMatchObject({ detail: expect.any(String), validation_errors: { password: ['Password did not conform with policy: Password not long enough'] } });
    expect(sent.map((s) => s.command)).toEqual(['AdminSetUserPasswordCommand']);
    expect(sent[0]!.input).toEqual({ UserPoolId: POOL, Username: 'a@b.co', Password: 'short', Permanent: true });
  });

  it('turns InvalidPasswordException during createUser into the same ValidationError', async () => {
    const { client } = recordingClient((s) => (s.command === 'AdminSetUserPasswordCommand' ? new InvalidPasswordException({ message: 'weak', ...meta }) : undefined));
    const err = await new CognitoDirectory({ userPoolId: POOL, client }).createUser('a@b.co', 'weak').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).body()).toMatchObject({ validation_errors: { password: ['weak'] } });
  });
});

describe('CognitoMailer request shapes', () => {
  const invite = { to: 'new@example.com', organization: 'Acme', inviteUrl: 'https://roster.example.com/user/signup/?token=abc123', invitedBy: 'owner@example.com' };

  it('invites through AdminCreateUser with email delivery and the link as client metadata', async () => {
    const { client, sent } = recordingClient();
    await new CognitoMailer('pool', client).sendInvite(invite);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.command).toBe('AdminCreateUserCommand');
    expect(sent[0]!.target).toBe('AWSCognitoIdentityProviderService.AdminCreateUser');
    const input = sent[0]!.input;
    expect(input).toMatchObject({
      UserPoolId: 'pool',
      Username: 'new@example.com',
      DesiredDeliveryMediums: ['EMAIL'],
      ClientMetadata: { invite_url: invite.inviteUrl, organization: 'Acme', invited_by: 'owner@example.com' },
    });
    expect(input.UserAttributes).toEqual(expect.arrayContaining([{ Name: 'email', Value: 'new@example.com' }]));
    // A first invitation must be delivered: never suppressed, never a resend.
    expect(input.MessageAction).toBeUndefined();
  });

  it('resends the invitation (MessageAction RESEND, link still in the metadata) when the account exists', async () => {
    const { client, sent } = recordingClient((_, i) => (i === 0 ? new UsernameExistsException({ message: 'exists', ...meta }) : undefined));
    await expect(new CognitoMailer('pool', client).sendInvite(invite)).resolves.toBeUndefined();
    expect(sent.map((s) => s.command)).toEqual(['AdminCreateUserCommand', 'AdminCreateUserCommand']);
    const resend = sent[1]!.input;
    expect(resend).toMatchObject({
      UserPoolId: 'pool',
      Username: 'new@example.com',
      MessageAction: 'RESEND',
      DesiredDeliveryMediums: ['EMAIL'],
      ClientMetadata: { invite_url: invite.inviteUrl },
    });
    expect(resend.UserAttributes).toBeUndefined();
  });

  it('reports an account that cannot be re-invited (confirmed already) as undeliverable, not as a failure', async () => {
    const { client, sent } = recordingClient((_, i) =>
      i === 0 ? new UsernameExistsException({ message: 'exists', ...meta }) : new UnsupportedUserStateException({ message: 'confirmed', ...meta }),
    );
    await expect(new CognitoMailer('pool', client).sendInvite(invite)).rejects.toBeInstanceOf(UndeliverableError);
    expect(sent.map((s) => s.input.MessageAction)).toEqual([undefined, 'RESEND']);
  });

  it('passes on other failures without resending', async () => {
    const { client, sent } = recordingClient(() => new InvalidParameterException({ message: 'bad', ...meta }));
    await expect(new CognitoMailer('pool', client).sendInvite(invite)).rejects.toBeInstanceOf(InvalidParameterException);
    expect(sent).toHaveLength(1);
  });
});

describe('OutboxMailer', () => {
  it('writes one .eml addressed to the invitee, with the link in the body', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'roster-outbox-')), 'outbox');
    await new OutboxMailer(dir).sendInvite({ to: 'new@example.com', organization: 'Acme', inviteUrl: 'http://127.0.0.1:8080/user/signup/?token=abc123', invitedBy: 'owner@example.com' });
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/\.eml$/);
    const eml = readFileSync(join(dir, files[0]!), 'utf8');
    const [head, body] = eml.split('\r\n\r\n') as [string, string];
    expect(head.split('\r\n')).toContain('To: new@example.com');
    expect(head).toMatch(/^Subject: .*Acme/m);
    expect(body).toContain('http://127.0.0.1:8080/user/signup/?token=abc123');
    expect(body).toContain('owner@example.com');
  });
});

describe('Cognito CustomMessage trigger', () => {
  const event = (triggerSource: string, clientMetadata?: Record<string, string>): CustomMessageTriggerEvent =>
    ({
      version: '1',
      region: 'eu-west-1',
      userPoolId: POOL,
      userName: 'new@example.com',
      callerContext: { awsSdkVersion: 'aws-sdk-js-3.1169.0', clientId: 'CLIENT_ID_NOT_APPLICABLE' },
      triggerSource,
      request: {
        userAttributes: { sub: '8f1c2d3e-0000-4000-8000-000000000000', email: 'new@example.com', email_verified: 'true', 'cognito:user_status': 'FORCE_CHANGE_PASSWORD' },
        codeParameter: '{####}',
        linkParameter: '{##Click Here##}',
        usernameParameter: '{username}',
        ...(clientMetadata ? { clientMetadata } : {}),
      },
      response: { smsMessage: null, emailMessage: null, emailSubject: null },
    }) as CustomMessageTriggerEvent;
  const metadata = { invite_url: 'https://roster.example.com/user/signup/?token=abc123', organization: 'Acme Labeling', invited_by: 'owner@example.com' };

  it('writes the invite link, the code and username placeholders into an AdminCreateUser message', async () => {
    const out = await customMessage(event('CustomMessage_AdminCreateUser', metadata));
    expect(out.response.emailMessage).toContain(metadata.invite_url);
    expect(out.response.emailMessage).toContain('{####}');
    expect(out.response.emailMessage).toContain('{username}');
    expect(out.response.emailMessage).toContain('owner@example.com');
    expect(out.response.emailSubject).toContain('Acme Labeling');
    // Cognito's limits: subject ≤ 140 characters, message ≤ 20,000.
    expect(out.response.emailSubject!.length).toBeLessThanOrEqual(140);
    expect(out.response.emailMessage!.length).toBeLessThanOrEqual(20_000);
  });

  it('escapes HTML in the organization name and inviter it writes into the HTML message', async () => {
    const out = await customMessage(event('CustomMessage_AdminCreateUser', { ...metadata, organization: 'R&D <Lab>', invited_by: '<a href="https://evil.example">x</a>' }));
    expect(out.response.emailMessage).not.toContain('<Lab>');
    expect(out.response.emailMessage).not.toContain('<a href="https://evil.example">');
    expect(out.response.emailMessage).toContain('R&amp;D &lt;Lab&gt;');
    expect(out.response.emailMessage).toContain(metadata.invite_url);
  });

  it.each(['CustomMessage_ForgotPassword', 'CustomMessage_SignUp', 'CustomMessage_ResendCode', 'CustomMessage_UpdateUserAttribute'])(
    'leaves a %s message untouched even with an invite_url',
    async (source) => {
      const e = event(source, metadata);
      const before = structuredClone(e);
      expect(await customMessage(e)).toEqual(before);
    },
  );

  it('leaves an AdminCreateUser message untouched without an invite_url', async () => {
    for (const e of [event('CustomMessage_AdminCreateUser'), event('CustomMessage_AdminCreateUser', { organization: 'Acme', invited_by: 'x@example.com' })]) {
      const before = structuredClone(e);
      expect(await customMessage(e)).toEqual(before);
    }
  });

  it('fills in a response that arrives as an empty object', async () => {
    const e = event('CustomMessage_AdminCreateUser', metadata);
    (e as { response: object }).response = {};
    const out = await customMessage(e);
    expect(out.response.emailMessage).toContain(metadata.invite_url);
    expect(out.response.emailSubject).toContain('Acme Labeling');
  });
});
