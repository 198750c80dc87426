import {
  AdminCreateUserCommand,
  AdminDisableUserCommand,
  AdminEnableUserCommand,
  AdminSetUserPasswordCommand,
  AdminUserGlobalSignOutCommand,
  CognitoIdentityProviderClient,
  UserNotFoundException,
  UsernameExistsException,
} from '@aws-sdk/client-cognito-identity-provider';
import { ValidationError } from '../core/errors.js';

/**
 * The sign-in directory (Cognito): the accounts people sign in with. Roster's table stays the only
 * source of roles; the directory holds credentials, and Roster keeps its enabled state in line with
 * whether the person has any active membership left. Usernames are lower-case emails.
 */
export interface Directory {
  /** Create the account with a permanent password (or set the password when it exists already). */
  createUser(email: string, password: string): Promise<void>;
  setPassword(email: string, password: string): Promise<void>;
  /** Disable the account and sign it out everywhere. */
  disable(email: string): Promise<void>;
  enable(email: string): Promise<void>;
}

export interface CognitoDirectoryOptions {
  userPoolId: string;
  client?: CognitoIdentityProviderClient;
  /** cognito-local has no AdminUserGlobalSignOut; Roster refuses the tokens of disabled users anyway. */
  globalSignOut?: boolean;
}

export class CognitoDirectory implements Directory {
  private readonly client: CognitoIdentityProviderClient;
  private readonly pool: string;
  private readonly globalSignOut: boolean;

  constructor(opts: CognitoDirectoryOptions) {
    this.client = opts.client ?? new CognitoIdentityProviderClient({});
    this.pool = opts.userPoolId;
    this.globalSignOut = opts.globalSignOut ?? true;
  }

  async createUser(email: string, password: string): Promise<void> {
    try {
      await this.client.send(
        new AdminCreateUserCommand({
          UserPoolId: this.pool,
          Username: email,
          MessageAction: 'SUPPRESS',
          UserAttributes: [
            { Name: 'email', Value: email },
            { Name: 'email_verified', Value: 'true' },
          ],
        }),
      );
    } catch (err) {
      if (!(err instanceof UsernameExistsException)) throw err;
    }
    await this.setPassword(email, password);
  }

  async setPassword(email: string, password: string): Promise<void> {
    try {
      await this.client.send(new AdminSetUserPasswordCommand({ UserPoolId: this.pool, Username: email, Password: password, Permanent: true }));
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'InvalidPasswordException') throw new ValidationError('Validation error', { password: [(err as Error).message] });
      throw err;
    }
  }

  async disable(email: string): Promise<void> {
    try {
      await this.client.send(new AdminDisableUserCommand({ UserPoolId: this.pool, Username: email }));
      if (this.globalSignOut) await this.client.send(new AdminUserGlobalSignOutCommand({ UserPoolId: this.pool, Username: email }));
    } catch (err) {
      // Members created without a password have no account to disable.
      if (!(err instanceof UserNotFoundException)) throw err;
    }
  }

  async enable(email: string): Promise<void> {
    try {
      await this.client.send(new AdminEnableUserCommand({ UserPoolId: this.pool, Username: email }));
    } catch (err) {
      if (!(err instanceof UserNotFoundException)) throw err;
    }
  }
}

/** Roster without a user pool (COGNITO_USER_POOL_ID unset): no accounts to keep in line, and no passwords. */
export class NoDirectory implements Directory {
  async createUser(): Promise<void> {
    throw new ValidationError('Validation error', { password: ['Password sign-in is not configured on this server (no user pool).'] });
  }
  async setPassword(): Promise<void> {
    return this.createUser();
  }
  async disable(): Promise<void> {}
  async enable(): Promise<void> {}
}

let cached: Directory | undefined;
/** The directory from the environment: COGNITO_USER_POOL_ID (and COGNITO_ENDPOINT locally). */
export function directory(): Directory {
  if (cached) return cached;
  const pool = process.env.COGNITO_USER_POOL_ID;
  const endpoint = process.env.COGNITO_ENDPOINT;
  cached = pool
    ? new CognitoDirectory({ userPoolId: pool, client: new CognitoIdentityProviderClient(endpoint ? { endpoint } : {}), globalSignOut: !endpoint })
    : new NoDirectory();
  return cached;
}
