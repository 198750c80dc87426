import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { type BootstrapResult, bootstrap } from '../../lib/org/bootstrap.js';
import { db } from '../../lib/core/db.js';
import { digestJob, fallback, reviewSweepJob, routes, streamConsumer } from '../../functions/routes.js';
import { StartupError, ensureTable, localClient, startDynamoDbLocal } from './dynamodb.js';
import { startCognitoLocal } from './cognito.js';
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
  cognito: { endpoint: string; userPoolId: string; clientId: string };
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

    // What Lambda's environment gives each function in AWS (there: the table, the pool, the secret).
    Object.assign(process.env, {
      TABLE_NAME: config.tableName,
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      COGNITO_USER_POOL_ID: pool.userPoolId,
      COGNITO_CLIENT_ID: pool.clientId,
      COGNITO_ISSUER: pool.issuer,
      COGNITO_ENDPOINT: pool.endpoint,
      ROSTER_SIGNING_KEY_FILE: ensureSigningKey(config.dataDir),
      ROSTER_OUTBOX_DIR: join(config.dataDir, 'outbox'),
      ROSTER_EXPORT_DIR: join(config.dataDir, 'exports'),
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
    // The scheduler: the daily digest job, run at start and every hour (it digests each closed day once).
    const digest = async () => {
      try {
        await (await load(digestJob.handler))({}, lambdaContext(digestJob.handler, randomUUID()));
      } catch (err) {
        log(`digest job: ${(err as Error).message}`);
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
    const cognito = { endpoint: pool.endpoint, userPoolId: pool.userPoolId, clientId: pool.clientId };

    const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
    ready = true;
    writeFileSync(join(config.dataDir, 'local.json'), JSON.stringify({ apiUrl: url, dynamodbEndpoint: endpoint, tableName: config.tableName, cognito }, null, 2));
    return { url, dynamodbEndpoint: endpoint, cognito, bootstrap: boot, streamIdle: poller.isIdle, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
