import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { type BootstrapResult, bootstrap } from '../../lib/org/bootstrap.js';
import { db } from '../../lib/core/db.js';
import { cognitoTriggers, digestJob, fallback, handlerRef, reviewSweepJob, routes, samlUpkeepJob, streamConsumer } from '../../functions/routes.js';
import { StartupError, ensureTable, localClient, startDynamoDbLocal } from './dynamodb.js';
import { startCognitoLocal } from './cognito.js';
import { startFederation } from './federation/server.js';
import type { TriggerConfig, TriggerHandler, TriggerName } from './federation/triggers.js';
import { createGateway, lambdaContext } from './gateway.js';
import { type StreamHandler, startStreamPoller } from './streams.js';

export interface RosterConfig {
  /** HTTP port; 0 picks a free one. */
  port: number;
  host?: string;
  /** Data folder: DynamoDB Local's files, stream checkpoints, local.json. */
  dataDir: string;
  tableName: string;
  /** Use this DynamoDB endpoint instead of starting DynamoDB Local. */
  dynamodbEndpoint?: string;
  bootstrapEmail: string;
  bootstrapToken?: string;
  log?: (line: string) => void;
  /** Feed the stream to this handler instead of functions/stream/consumer (tests inject failures with it). */
  streamHandler?: StreamHandler;
  /** Port of the local user pool (the Cognito stand-in and its hosted endpoints); 0 picks a free one. */
  cognitoPort?: number;
  /** The user pool's triggers instead of the route table's (tests record events with it). */
  cognitoTriggers?: TriggerConfig;
}

/** The signing key for access tokens: a file of its own in the data folder, never in the table. */
function ensureSigningKey(dataDir: string): string {
  const file = join(dataDir, 'signing.key');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  return file;
}

export interface Roster {
  url: string;
  dynamodbEndpoint: string;
  cognito: { endpoint: string; userPoolId: string; clientId: string; issuer: string; ssoClientId: string; callbackUrl: string; devIdpMetadataUrl: string };
  /** cognito-local itself, behind the stand-in (tests look at the users there). */
  cognitoLocal: string;
  bootstrap: BootstrapResult;
  /** True when the stream poller has caught up with the table. */
  streamIdle(): boolean;
  stop(): Promise<void>;
}

/** Lambda handlers are the `handler` exports of modules in functions/, the same files CDK bundles. */
const load = async (module: string) => {
  const url = new URL(`../../functions/${module}.ts`, import.meta.url).href;
  return (await import(/* @vite-ignore */ url)).handler;
};

/**
 * The user pool's Lambda triggers as the route table declares them (`cognitoTriggers`: trigger →
 * `{handler}` under functions/, the table CDK wires), each loaded when first invoked. Names are
 * Cognito's LambdaConfig keys in any case (preSignUp = PreSignUp). Pre token generation gets the
 * V2_0 event unless the entry says `version: 'V1_0'` (Roster's pool is on the Essentials plan).
 */
export function tableTriggers(): TriggerConfig {
  const table: Record<string, string | { handler: string; version?: string }> = cognitoTriggers;
  const names: TriggerName[] = ['InboundFederation', 'PreSignUp', 'PostConfirmation', 'PreAuthentication', 'PostAuthentication', 'PreTokenGeneration'];
  const config: TriggerConfig = { handlers: {}, preTokenVersion: 'V2_0' };
  for (const [key, entry] of Object.entries(table)) {
    const name = names.find((n) => n.toLowerCase() === key.toLowerCase());
    if (!name) continue;
    const { module, export: exported } = handlerRef(typeof entry === 'string' ? entry : entry.handler);
    const url = new URL(`../../functions/${module}.ts`, import.meta.url).href;
    config.handlers[name] = (async (event, context) => (await import(/* @vite-ignore */ url))[exported](event, context)) as TriggerHandler;
    if (name === 'PreTokenGeneration' && typeof entry === 'object' && entry.version === 'V1_0') config.preTokenVersion = 'V1_0';
  }
  return config;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new StartupError(`Port ${port} is already in use: stop what is using it or set PORT to a free port.`)
          : err,
      ),
    );
    server.listen(port, host, () => resolve((server.address() as { port: number }).port));
  });
}

/**
 * Roster on one machine: DynamoDB Local (unless an endpoint is given), cognito-local as the user
 * pool, the table from the shared schema, the bootstrap organization, the API Gateway adapter over
 * the route table, and the stream poller feeding the stream consumer.
 */
export async function startRoster(config: RosterConfig): Promise<Roster> {
  const log = config.log ?? (() => undefined);
  const host = config.host ?? '127.0.0.1';
  let ready = false;
  const server = createGateway({ routes, fallback: fallback.handler, load, log, ready: () => ready });
  const port = await listen(server, config.port, host);
  // Stopped in reverse order of start: the scheduler and the poller before the databases they use,
  // and new requests refused (503) from the first moment of stopping.
  const cleanups: (() => Promise<void>)[] = [() => new Promise((r) => server.close(() => r()))];
  const stop = async () => {
    ready = false;
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  try {
    let endpoint = config.dynamodbEndpoint;
    if (!endpoint) {
      const local = await startDynamoDbLocal({ dataDir: join(config.dataDir, 'dynamodb') });
      cleanups.push(local.stop);
      endpoint = local.endpoint;
    }
    const pool = await startCognitoLocal(join(config.dataDir, 'cognito'));
    cleanups.push(pool.stop);
    mkdirSync(config.dataDir, { recursive: true });
    const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
    const region = process.env.AWS_REGION ?? 'us-east-1';
    // What Cognito has and cognito-local lacks (identity providers, the hosted federation endpoints), in front of it.
    const federation = await startFederation({
      port: config.cognitoPort ?? 0,
      host,
      dataDir: join(config.dataDir, 'federation'),
      cognitoLocal: pool.endpoint,
      userPoolId: pool.userPoolId,
      issuer: pool.issuer,
      region,
      triggers: config.cognitoTriggers ?? tableTriggers(),
      apiUrl: () => url,
    });
    cleanups.push(federation.stop);

    // What Lambda's environment gives each function in AWS (there: the table, the pool, the secret).
    Object.assign(process.env, {
      TABLE_NAME: config.tableName,
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      COGNITO_USER_POOL_ID: pool.userPoolId,
      COGNITO_CLIENT_ID: pool.clientId,
      COGNITO_ISSUER: pool.issuer,
      COGNITO_ENDPOINT: federation.url,
      // The user pool domain (managed login and the federation endpoints) and the SSO app client.
      COGNITO_DOMAIN_URL: federation.url,
      COGNITO_SSO_CLIENT_ID: federation.ssoClientId,
      ROSTER_SSO_CALLBACK_URL: federation.callbackUrl,
      ROSTER_SIGNING_KEY_FILE: ensureSigningKey(config.dataDir),
      ROSTER_OUTBOX_DIR: join(config.dataDir, 'outbox'),
      ROSTER_EXPORT_DIR: join(config.dataDir, 'exports'),
      // SAML metadata URLs: http is allowed here, and loopback only for this runtime's own addresses (the dev IdP is on the user pool's).
      ROSTER_LOCAL: '1',
      ROSTER_LOCAL_METADATA_HOSTS: [...new Set([port, Number(new URL(federation.url).port)].flatMap((p) => [`127.0.0.1:${p}`, `localhost:${p}`, `${host}:${p}`]))].join(','),
      ROSTER_REVIEWS_DIR: join(config.dataDir, 'reviews'),
    });
    process.env.AWS_REGION ??= 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID ??= 'local';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'local';

    const client = localClient(endpoint);
    const streamArn = await ensureTable(client, config.tableName);
    client.destroy();
    const boot = await bootstrap(db(), { email: config.bootstrapEmail, token: config.bootstrapToken });

    const poller = startStreamPoller({
      endpoint,
      streamArn,
      handler: async () => config.streamHandler ?? load(streamConsumer.handler),
      checkpointFile: join(config.dataDir, 'stream-checkpoints.json'),
      failureDir: join(config.dataDir, 'stream-failures'),
      log,
    });
    cleanups.push(poller.stop);
    // The scheduler: the daily digest job and the hourly SAML upkeep, run at start and every hour
    // (the digest digests each closed day once; certificate warnings are written once each).
    const digest = async () => {
      for (const job of [digestJob, samlUpkeepJob]) {
        try {
          await (await load(job.handler))({}, lambdaContext(job.handler, randomUUID()));
        } catch (err) {
          log(`${job.handler} job: ${(err as Error).message}`);
        }
      }
    };
    let running = digest();
    const timer = setInterval(() => (running = digest()), 3_600_000);
    timer.unref();
    cleanups.push(async () => {
      clearInterval(timer);
      await running;
    });
    // The access-review sweep: due review definitions start their instances (every minute, or ROSTER_REVIEW_SWEEP_MS).
    const sweep = async () => {
      try {
        await (await load(reviewSweepJob.handler))({}, lambdaContext(reviewSweepJob.handler, randomUUID()));
      } catch (err) {
        log(`review sweep: ${(err as Error).message}`);
      }
    };
    let sweeping = sweep();
    const sweepTimer = setInterval(() => (sweeping = sweep()), Number(process.env.ROSTER_REVIEW_SWEEP_MS) || 60_000);
    sweepTimer.unref();
    cleanups.push(async () => {
      clearInterval(sweepTimer);
      await sweeping;
    });
    const cognito = {
      endpoint: federation.url,
      userPoolId: pool.userPoolId,
      clientId: pool.clientId,
      issuer: pool.issuer,
      ssoClientId: federation.ssoClientId,
      callbackUrl: federation.callbackUrl,
      devIdpMetadataUrl: federation.devIdp.metadataUrl,
    };

    ready = true;
    writeFileSync(join(config.dataDir, 'local.json'), JSON.stringify({ apiUrl: url, dynamodbEndpoint: endpoint, tableName: config.tableName, cognito }, null, 2));
    return { url, dynamodbEndpoint: endpoint, cognito, cognitoLocal: pool.endpoint, bootstrap: boot, streamIdle: poller.isIdle, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
