import { AdminGetUserCommand, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { localCognitoClient } from '../../infra/local/cognito.js';

/** Sign in as a client would: InitiateAuth USER_PASSWORD_AUTH against the local user pool. Returns the access token. */
export async function signIn(pool: { endpoint: string; clientId: string }, email: string, password: string): Promise<string> {
  const client = localCognitoClient(pool.endpoint);
  try {
    const r = await client.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: pool.clientId, AuthParameters: { USERNAME: email, PASSWORD: password } }));
    return r.AuthenticationResult!.AccessToken!;
  } finally {
    client.destroy();
  }
}

/** Whether the sign-in account is enabled (cognito-local records it, though its sign-in does not check it). */
export async function accountEnabled(pool: { endpoint: string; userPoolId: string }, email: string): Promise<boolean | undefined> {
  const client = localCognitoClient(pool.endpoint);
  try {
    return (await client.send(new AdminGetUserCommand({ UserPoolId: pool.userPoolId, Username: email }))).Enabled;
  } finally {
    client.destroy();
  }
}
