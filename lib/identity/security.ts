/**
 * Security events (SPEC §6): sign-ins, refused credentials and refused requests enter the activity
 * log by the same path as every change, through an item the stream consumer turns into an entry.
 * Each kind of event is counted per key (an address, a user) and minute in one item; only the first
 * few of a minute become entries (see activity.ts), and past that the count stops moving, so a flood
 * of bad requests writes nothing more to the table.
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SECURITY_EVENTS_PER_MINUTE, type SecurityEvent } from '../audit/activity.js';
import { type Db, isConditionFailure } from '../core/db.js';
import { keys } from '../core/table.js';

const DAY = 86_400;

/** Count one event of `key` in the current minute; its entry is written while the minute's count is low. */
export async function recordSecurityEvent(db: Db, key: string, event: SecurityEvent): Promise<void> {
  const at = new Date().toISOString();
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.securityEvent(key, at.slice(0, 16)),
        UpdateExpression: 'SET #type = :type, #event = :event, #at = :at, expiresAt = :exp ADD hits :one',
        ConditionExpression: 'attribute_not_exists(hits) OR hits <= :limit',
        ExpressionAttributeNames: { '#type': 'type', '#event': 'event', '#at': 'at' },
        ExpressionAttributeValues: { ':type': 'security_event', ':event': event, ':at': at, ':exp': Math.floor(Date.now() / 1000) + DAY, ':one': 1, ':limit': SECURITY_EVENTS_PER_MINUTE },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}

/** The key under which a session's sign-in is recorded (read with the membership on each request). */
export const signInKey = (session: string) => keys.securityEvent(`signin#${session}`, 'session');

/** Record a session's sign-in once, however many of its first requests race. */
export async function recordSignIn(db: Db, session: string, expires: number, event: SecurityEvent): Promise<void> {
  try {
    await db.doc.send(
      new PutCommand({
        TableName: db.table,
        Item: { ...signInKey(session), type: 'security_event', hits: 1, event, at: new Date().toISOString(), expiresAt: expires },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}
