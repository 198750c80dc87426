import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { db } from '../../lib/db.js';
import { type Job, runSlice } from '../../lib/jobs.js';
import { logger } from '../http.js';

const processor = new BatchProcessor(EventType.DynamoDBStreams);

/**
 * One change. Bulk-membership jobs that are pending or running get their next slice (the slice's
 * own progress write brings the one after). Every change is logged by key and kind only: images may
 * hold token hashes and never reach logs.
 */
async function record(r: DynamoDBRecord): Promise<void> {
  const keys = r.dynamodb?.Keys;
  logger.info('table change', { eventID: r.eventID, eventName: r.eventName, sequenceNumber: r.dynamodb?.SequenceNumber, pk: keys?.PK?.S, sk: keys?.SK?.S });
  const image = r.dynamodb?.NewImage;
  if (r.eventName !== 'REMOVE' && image?.type?.S === 'job' && image.status?.S !== 'done') {
    await runSlice(db(), unmarshall(image as Record<string, AttributeValue> as never) as Job);
  }
}

/** Consumer of the table's stream, with partial batch responses (a failed record is retried on its own). */
export const handler = async (event: DynamoDBStreamEvent, context: Context) => processPartialResponse(event, record, processor, { context });
