import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from './db.js';
import { type Kind, keys } from './table.js';

/**
 * Allocate the next integer id of a kind (or the first of `n` consecutive ones): one atomic counter
 * update. Gaps are possible, repeats are not.
 */
export async function nextId(db: Db, kind: Kind, n = 1): Promise<number> {
  const r = await db.doc.send(
    new UpdateCommand({
      TableName: db.table,
      Key: keys.counter(kind),
      UpdateExpression: 'ADD #v :n',
      ExpressionAttributeNames: { '#v': 'value' },
      ExpressionAttributeValues: { ':n': n },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return (r.Attributes!.value as number) - n + 1;
}
