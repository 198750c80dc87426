import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { logger } from '../http.js';

const processor = new BatchProcessor(EventType.DynamoDBStreams);

/** One change: logged by key and kind only (images may hold token hashes and never reach logs). */
async function record(r: DynamoDBRecord): Promise<void> {
  const keys = r.dynamodb?.Keys;
  logger.info('table change', {
    eventID: r.eventID,
    eventName: r.eventName,
    sequenceNumber: r.dynamodb?.SequenceNumber,
    pk: keys?.PK?.S,
    sk: keys?.SK?.S,
  });
}

/** Consumer of the table's stream, with partial batch responses (failed records are retried alone). */
export const handler = async (event: DynamoDBStreamEvent, context: Context) =>
  processPartialResponse(event, record, processor, { context });
