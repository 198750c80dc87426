import { readFile } from 'node:fs/promises';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The key that signs Roster's short-lived access tokens. It never sits in the table: in AWS it is a
 * Secrets Manager secret (SIGNING_SECRET_ARN), locally a key file in ROSTER_DATA_DIR
 * (ROSTER_SIGNING_KEY_FILE). Read once per container.
 */
let cached: Promise<Uint8Array> | undefined;

export function signingKey(): Promise<Uint8Array> {
  cached ??= load().catch((err) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

async function load(): Promise<Uint8Array> {
  const file = process.env.ROSTER_SIGNING_KEY_FILE;
  if (file) return decode(await readFile(file, 'utf8'));
  const arn = process.env.SIGNING_SECRET_ARN;
  if (arn) {
    const r = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: arn }));
    return decode(r.SecretString ?? '');
  }
  throw new Error('No signing key configured: set SIGNING_SECRET_ARN or ROSTER_SIGNING_KEY_FILE');
}

function decode(text: string): Uint8Array {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length < 32) throw new Error('The signing key must be at least 32 bytes (base64)');
  return key;
}
