import { mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { type BootstrapResult, bootstrap } from '../../lib/bootstrap.js';
import { db } from '../../lib/db.js';
import { authorizer, fallback, routes, streamConsumer } from '../../functions/routes.js';
import { StartupError, ensureTable, localClient, startDynamoDbLocal } from './dynamodb.js';
import { createGateway } from './gateway.js';
import { startStreamPoller } from './streams.js';

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
}

export interface Roster {
  url: string;
  dynamodbEndpoint: string;
  bootstrap: BootstrapResult;
  /** True when the stream poller has caught up with the table. */
  streamIdle(): boolean;
  stop(): Promise<void>;
}

/** Lambda handlers are loaded as modules from functions/, the same files CDK bundles. */
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
 * Roster on one machine: DynamoDB Local (unless an endpoint is given), the table from the shared
 * schema, the bootstrap organization, the API Gateway adapter over the route table, and the stream
 * poller feeding the stream consumer.
 */
export async function startRoster(config: RosterConfig): Promise<Roster> {
  const log = config.log ?? (() => undefined);
  const host = config.host ?? '127.0.0.1';
  const server = createGateway({ routes, authorizer: authorizer.handler, fallback: fallback.handler, load, log });
  const port = await listen(server, config.port, host);
  const cleanups: (() => Promise<void>)[] = [() => new Promise((r) => server.close(() => r()))];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c();
  };
  try {
    let endpoint = config.dynamodbEndpoint;
    if (!endpoint) {
      const local = await startDynamoDbLocal({ dataDir: join(config.dataDir, 'dynamodb') });
      cleanups.push(local.stop);
      endpoint = local.endpoint;
    }
    // What Lambda's environment gives each function in AWS.
    process.env.TABLE_NAME = config.tableName;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
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
      handler: () => load(streamConsumer.handler),
      checkpointFile: join(config.dataDir, 'stream-checkpoints.json'),
      failureDir: join(config.dataDir, 'stream-failures'),
      log,
    });
    cleanups.splice(1, 0, poller.stop);

    const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(join(config.dataDir, 'local.json'), JSON.stringify({ apiUrl: url, dynamodbEndpoint: endpoint, tableName: config.tableName }, null, 2));
    return { url, dynamodbEndpoint: endpoint, bootstrap: boot, streamIdle: poller.isIdle, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
