import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { TABLE } from '../../lib/table.js';

/** DynamoDB actions per access level: exactly what the repositories call, and never Scan. */
export const TABLE_ACTIONS = {
  none: [],
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'],
  readwrite: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:ConditionCheckItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
  ],
} as const;

export interface RosterFunctionProps {
  /** Handler module under functions/, without extension. */
  handler: string;
  table: ITable;
  /** Table access; the grant and the TABLE_NAME variable are bound together here. */
  access: keyof typeof TABLE_ACTIONS;
  description?: string;
  timeout?: Duration;
  memorySize?: number;
  retention?: RetentionDays;
}

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The one way Roster defines a Lambda function: Node.js 22 on arm64, bundled by esbuild (minified,
 * with source maps), its own log group with a retention, and an execution role that may write to
 * that log group and touch the table with exactly the actions of its access level.
 */
export class RosterFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: RosterFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.retention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    this.role.addToPolicy(
      new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
    );
    const environment: Record<string, string> = {
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'roster',
    };
    if (props.access !== 'none') {
      environment.TABLE_NAME = props.table.tableName;
      const arn = props.table.tableArn;
      this.role.addToPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: [...TABLE_ACTIONS[props.access]],
          resources: [arn, ...TABLE.indexes.map((i) => `${arn}/index/${i.name}`)],
        }),
      );
    }
    this.fn = new NodejsFunction(this, 'Fn', {
      entry: `${root}functions/${props.handler}.ts`,
      projectRoot: root,
      depsLockFilePath: `${root}package-lock.json`,
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      description: props.description ?? `Roster ${props.handler}`,
      role: this.role,
      logGroup,
      environment,
      bundling: {
        minify: true,
        sourceMap: true,
        format: OutputFormat.CJS,
        target: 'node22',
        // Bundle the SDK too: the code runs against the versions it was tested with.
        externalModules: [],
      },
    });
  }
}
