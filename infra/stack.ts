import { CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { authorizer, fallback, routes, streamConsumer } from '../functions/routes.js';
import { RosterApi } from './constructs/api.js';
import { RosterTable } from './constructs/data.js';
import { StreamConsumer } from './constructs/stream.js';

export class RosterStack extends Stack {
  readonly data: RosterTable;
  readonly api: RosterApi;
  readonly stream: StreamConsumer;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.data = new RosterTable(this, 'Data');
    this.api = new RosterApi(this, 'Api', { table: this.data.table, routes, authorizer, fallback });
    this.stream = new StreamConsumer(this, 'Stream', { table: this.data.table, handler: streamConsumer.handler });
    new CfnOutput(this, 'TableName', { value: this.data.table.tableName, description: 'For infra/bootstrap.ts: creates the first organization and Owner' });

    // cdk-nag acknowledgements, each with its reason.
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Roster pins Node.js 22 (nodejs22.x), the runtime its code and tests target; moving runtimes is a deliberate change, not an automatic one.',
    });
    Validations.of(this.stream.failures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the on-failure destination of the stream consumer; a queue behind it would only move the problem.',
    });
    Validations.of(this.stream.function.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'dynamodb:ListStreams, which the DynamoDB event source mapping needs, has no resource-level permissions; every other action is bound to the table stream ARN.',
    });
  }
}
