import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Need } from '../../functions/routes.js';
import { type Needs, RosterFunction } from './roster-function.js';

export interface StreamConsumerProps {
  table: ITable;
  handler: string;
  needs: readonly Need[];
  resources: Needs;
  /** The consumer writes activity-log exports here. */
  exportBucket: IBucket;
  /** And access-review reports here. */
  reviewsBucket: IBucket;
}

/**
 * The table stream's consumer: bounded retries, bisect on error, a maximum record age, partial batch
 * responses, and an SQS on-failure destination with an alarm on it.
 */
export class StreamConsumer extends Construct {
  readonly function: RosterFunction;
  readonly failures: Queue;

  constructor(scope: Construct, id: string, props: StreamConsumerProps) {
    super(scope, id);
    this.function = new RosterFunction(this, 'Consumer', {
      handler: props.handler,
      table: props.table,
      // Reads and writes the table (in batches): activity entries, and jobs and exports, slice by slice.
      access: 'batch',
      needs: props.needs,
      resources: props.resources,
      timeout: Duration.seconds(120),
    });
    // Exports are new objects under activity-logs/: PutObject covers the multipart calls it makes.
    this.function.role.addToPolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [props.exportBucket.arnForObjects('activity-logs/*')] }));
    // Review reports are objects under access-reviews/ (multipart CSV and JSON, the HTML page, the manifest); reading them back is the 'reviews' need.
    this.function.role.addToPolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [props.reviewsBucket.arnForObjects('access-reviews/*')] }));
    this.failures = new Queue(this, 'Failures', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.function.fn.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(1),
        retryAttempts: 3,
        bisectBatchOnError: true,
        maxRecordAge: Duration.hours(24),
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.failures),
      }),
    );
    new Alarm(this, 'FailuresAlarm', {
      alarmDescription: 'Stream records the consumer could not process are waiting in the failure queue.',
      metric: this.failures.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
