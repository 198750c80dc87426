import { resolve } from 'node:path';
import { StartupError } from './dynamodb.js';
import { startRoster } from './runtime.js';

// Node 20 is this project's development runtime by choice (Lambda runs 22); the SDK's notice about it is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The console shows one line per request (the gateway's), warnings and errors; the functions' INFO
// and DEBUG lines (in Lambda, INFO goes to CloudWatch) only when POWERTOOLS_LOG_LEVEL asks for them.
if (!process.env.POWERTOOLS_LOG_LEVEL) process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
const env = process.env;
const port = Number(env.PORT ?? 8080);
// The local user pool's hosted endpoints and dev IdP: a stable port, since IdP settings name its URLs.
const cognitoPort = Number(env.COGNITO_PORT ?? (port === 0 ? 0 : port + 1));

try {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new StartupError(`PORT must be a port number, not "${env.PORT}".`);
  if (!Number.isInteger(cognitoPort) || cognitoPort < 0 || cognitoPort > 65535) throw new StartupError(`COGNITO_PORT must be a port number, not "${env.COGNITO_PORT}".`);
  const roster = await startRoster({
    port,
    host: env.HOST ?? '127.0.0.1',
    dataDir: resolve(env.ROSTER_DATA_DIR ?? '.roster'),
    tableName: env.ROSTER_TABLE_NAME ?? 'roster',
    dynamodbEndpoint: env.AWS_ENDPOINT_URL_DYNAMODB || undefined,
    bootstrapEmail: env.ROSTER_BOOTSTRAP_EMAIL ?? 'admin@localhost',
    bootstrapToken: env.ROSTER_BOOTSTRAP_TOKEN || undefined,
    cognitoPort,
    log: (line) => console.log(line),
  });
  console.log(`Roster is serving ${roster.url} (DynamoDB at ${roster.dynamodbEndpoint}). Ctrl-C stops it.`);
  console.log(`The user pool's sign-in endpoints are at ${roster.cognito.endpoint}; dev IdP metadata: ${roster.cognito.devIdpMetadataUrl}`);
  if (roster.bootstrap.created) {
    console.log(`Created organization 1 and its Owner ${env.ROSTER_BOOTSTRAP_EMAIL ?? 'admin@localhost'}.`);
    if (!env.ROSTER_BOOTSTRAP_TOKEN) console.log(`The Owner's API token, shown this once: ${roster.bootstrap.token}`);
  }
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.log('Stopping Roster…');
    await roster.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
} catch (err) {
  if (err instanceof StartupError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
