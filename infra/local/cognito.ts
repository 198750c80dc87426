import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  AddCustomAttributesCommand,
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  DescribeUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { StartupError, freePort } from './dynamodb.js';

export interface LocalUserPool {
  endpoint: string;
  userPoolId: string;
  clientId: string;
  issuer: string;
  stop(): Promise<void>;
}

export function localCognitoClient(endpoint: string) {
  return new CognitoIdentityProviderClient({ endpoint, region: process.env.AWS_REGION ?? 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

/** The mutable custom attribute federated groups are mapped to (as the CDK stack declares it). */
const GROUPS = { Name: 'groups', AttributeDataType: 'String' as const, Mutable: true };

/**
 * The embedded user pool: cognito-local in its own process, its data in `dir` (kept across
 * restarts), one pool and one app client that allows USER_PASSWORD_AUTH, as the CDK stack has.
 */
export async function startCognitoLocal(dir: string): Promise<LocalUserPool> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  mkdirSync(join(dir, '.cognito'), { recursive: true });
  // Tokens name this server as their issuer, so authentication finds the JWKS at <issuer>/.well-known/jwks.json.
  writeFileSync(join(dir, '.cognito', 'config.json'), JSON.stringify({ TokenConfig: { IssuerDomain: endpoint } }, null, 2));
  const bin = createRequire(import.meta.url).resolve('cognito-local/lib/bin/start.js');
  const child: ChildProcess = spawn(process.execPath, [bin], { cwd: dir, env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new StartupError(`cognito-local exited during start: ${stderr.trim() || `code ${child.exitCode}`}`);
    try {
      if ((await fetch(`${endpoint}/health`)).ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new StartupError(`cognito-local did not answer on port ${port} within 30 s.`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const client = localCognitoClient(endpoint);
  const idsFile = join(dir, 'roster-pool.json');
  let ids = existsSync(idsFile) ? (JSON.parse(readFileSync(idsFile, 'utf8')) as { userPoolId: string; clientId: string }) : undefined;
  if (ids) {
    try {
      const described = await client.send(new DescribeUserPoolCommand({ UserPoolId: ids.userPoolId }));
      // Pools made before SSO lack the attribute SAML sign-ins map groups to.
      if (!described.UserPool?.SchemaAttributes?.some((a) => a.Name === 'custom:groups')) {
        await client.send(new AddCustomAttributesCommand({ UserPoolId: ids.userPoolId, CustomAttributes: [GROUPS] }));
      }
    } catch {
      ids = undefined;
    }
  }
  if (!ids) {
    const pool = await client.send(new CreateUserPoolCommand({ PoolName: 'roster', Schema: [GROUPS] }));
    const app = await client.send(
      new CreateUserPoolClientCommand({ UserPoolId: pool.UserPool!.Id!, ClientName: 'roster', ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'] }),
    );
    ids = { userPoolId: pool.UserPool!.Id!, clientId: app.UserPoolClient!.ClientId! };
    writeFileSync(idsFile, JSON.stringify(ids));
  }
  client.destroy();
  return {
    endpoint,
    ...ids,
    issuer: `${endpoint}/${ids.userPoolId}`,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
