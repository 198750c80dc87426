import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, cancellationReasons, transactWrite } from './db.js';
import { NotFoundError } from './errors.js';
import { keys } from './table.js';
import { hashToken, newToken, now } from './util.js';

/**
 * Issue a new legacy API token for a user in one organization, replacing the previous one (whose
 * lookup item is deleted in the same transaction, so the old token stops working at once). Returns
 * the token; only its hash is stored.
 */
export async function resetLegacyToken(db: Db, orgId: number, userId: number, token = newToken()): Promise<string> {
  const member = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.membership(orgId, userId), ConsistentRead: true }));
  if (!member.Item) throw new NotFoundError('Member not found.');
  const previous = member.Item.tokenHash as string | undefined;
  const hash = hashToken(token);
  try {
    await transactWrite(db, [
      {
        Update: {
          TableName: db.table,
          Key: keys.membership(orgId, userId),
          UpdateExpression: 'SET tokenHash = :h',
          // Only if nobody replaced the token in between: one current token per member.
          ConditionExpression: previous ? 'tokenHash = :prev' : 'attribute_exists(PK) AND attribute_not_exists(tokenHash)',
          ExpressionAttributeValues: { ':h': hash, ...(previous ? { ':prev': previous } : {}) },
        },
      },
      {
        Put: {
          TableName: db.table,
          Item: { ...keys.token(hash), type: 'legacy_token', userId, orgId, created_at: now() },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      ...(previous ? [{ Delete: { TableName: db.table, Key: keys.token(previous) } }] : []),
    ]);
  } catch (err) {
    if (cancellationReasons(err)?.[0]?.code === 'ConditionalCheckFailed') return resetLegacyToken(db, orgId, userId, token);
    throw err;
  }
  return token;
}
