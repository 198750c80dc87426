/**
 * First Owner for a deployed Roster: creates organization 1 and its Owner in the stack's table when
 * the table is empty, and prints the Owner's API token once. Uses your AWS credentials.
 *
 *   npx tsx infra/bootstrap.ts --table <TableName output> --email you@example.com
 */
import { parseArgs } from 'node:util';
import { bootstrap } from '../lib/org/bootstrap.js';
import { createDb } from '../lib/core/db.js';

const { values } = parseArgs({ options: { table: { type: 'string' }, email: { type: 'string' }, title: { type: 'string' } } });
if (!values.table || !values.email) {
  console.error('Usage: npx tsx infra/bootstrap.ts --table <table name> --email <owner email> [--title <organization title>]');
  process.exit(2);
}
const result = await bootstrap(createDb(values.table), { email: values.email, title: values.title });
console.log(
  result.created
    ? `Created organization 1 and its Owner ${values.email}. The Owner's API token, shown this once: ${result.token}`
    : 'The table already has an organization; nothing was changed.',
);
