import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from './db.js';
import { type Kind, keys } from './table.js';

/** Allocate the next integer id of a kind: one atomic counter update. Gaps are possible, repeats are not. */
export async function nextId(db: Db, kind: Kind): Promise<number> {
  const r = await db.doc.send(
    new UpdateCommand({
      TableName: db.table,
      Key: keys.counter(kind),
      UpdateExpression: 'ADD #v :one',
      ExpressionAttributeNames: { '#v': 'value' },
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return r.Attributes!.value as number;
}
