import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RosterFunction } from './roster-function.js';

export interface StreamConsumerProps {
  table: ITable;
  handler: string;
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
      // Reads and writes the table: bulk-membership jobs run here, slice by slice.
      access: 'readwrite',
      timeout: Duration.seconds(120),
    });
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
