import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { entryOf } from '../../lib/audit/activity.js';
import { storeEntries } from '../../lib/audit/activity-log.js';
import { contextOf, withChangeContext } from '../../lib/core/context.js';
import { db } from '../../lib/core/db.js';
import { runExportSlice } from '../../lib/audit/exports.js';
import { type Job, runSlice } from '../../lib/access/jobs.js';
import { runReviewRun } from '../../lib/reviews/close.js';
import { type FederationJob, runFederationSlice } from '../../lib/federation/reevaluate.js';
import type { ReviewInstance } from '../../lib/reviews/model.js';
import { runReviewSlice } from '../../lib/reviews/snapshot.js';

const processor = new BatchProcessor(EventType.DynamoDBStreams);

/**
 * The consumer's own logger, given the consumer's Lambda context on each invocation: its lines
 * never carry another function's (locally every function shares one process).
 */
const logger = new Logger({ serviceName: 'roster' });

const image = (i: Record<string, AttributeValue> | undefined) => (i ? unmarshall(i as never) : undefined);

/**
 * One change: its activity entry, if it is a state change (written once, however often the record
 * is delivered), and for a job or export item that is not done, its next slice, run in the context
 * of whoever started it (the slice's own progress write brings the one after); likewise the
 * snapshot slices of an access-review instance that is building. Records are logged
 * by key and kind only, at DEBUG (one line per record would bury everything else): images may hold
 * token hashes and never reach logs.
 */
export async function processRecord(r: DynamoDBRecord, stored?: Set<string>): Promise<void> {
  const keys = r.dynamodb?.Keys;
  logger.debug('table change', { eventID: r.eventID, eventName: r.eventName, sequenceNumber: r.dynamodb?.SequenceNumber, pk: keys?.PK?.S, sk: keys?.SK?.S });
  const newImage = image(r.dynamodb?.NewImage);
  if (!stored?.has(r.eventID!)) {
    const entry = entryFor(r);
    if (entry) await storeEntries(db(), [entry]);
  }
  if (!newImage || r.eventName === 'REMOVE' || newImage.status === 'done') return;
  if (newImage.type === 'job') await withChangeContext(contextOf(newImage._ctx as never), () => runSlice(db(), newImage as unknown as Job));
  if (newImage.type === 'federation_job') await withChangeContext(contextOf(newImage._ctx as never), () => runFederationSlice(db(), newImage as unknown as FederationJob));
  if (newImage.type === 'export') await withChangeContext(contextOf(newImage._ctx as never), () => runExportSlice(db(), newImage as never));
  if (newImage.type === 'review_run') await withChangeContext(contextOf(newImage._ctx as never), () => runReviewRun(db(), newImage as never));
  if (newImage.type === 'review_instance' && newImage.status === 'building') await withChangeContext(contextOf(newImage._ctx as never), () => runReviewSlice(db(), newImage as unknown as ReviewInstance));
}

function entryFor(r: DynamoDBRecord) {
  return entryOf({
    eventId: r.eventID!,
    eventName: r.eventName!,
    newImage: image(r.dynamodb?.NewImage),
    oldImage: image(r.dynamodb?.OldImage),
    approximateTime: r.dynamodb?.ApproximateCreationDateTime,
    // DynamoDB's TTL deletes as the service principal.
    expired: r.eventName === 'REMOVE' && (r as { userIdentity?: { principalId?: string } }).userIdentity?.principalId === 'dynamodb.amazonaws.com',
  });
}

/**
 * The batch's entries stored together first (one read of what they need and of which exist, one id
 * allocation, the new ones written in parallel); the event ids done that way are skipped record by
 * record. When that fails, nothing is skipped and each record stores its own entry (one already
 * written is found and left).
 */
async function storeBatch(records: DynamoDBRecord[]): Promise<Set<string>> {
  try {
    const entries = records.map((r) => [r.eventID!, entryFor(r)] as const);
    await storeEntries(db(), entries.flatMap(([, e]) => (e ? [e] : [])));
    return new Set(entries.map(([id]) => id));
  } catch (err) {
    logger.warn('storing the batch at once failed; storing record by record', err as Error);
    return new Set();
  }
}

/** Consumer of the table's stream, with partial batch responses (a failed record is retried on its own). */
export const handler = async (event: DynamoDBStreamEvent, context: Context) => {
  logger.addContext(context);
  const stored = await storeBatch(event.Records);
  return processPartialResponse(event, (r: DynamoDBRecord) => processRecord(r, stored), processor, { context });
};
