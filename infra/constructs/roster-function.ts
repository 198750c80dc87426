import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { TABLE } from '../../lib/core/table.js';
import { type Need, authentication, handlerRef } from '../../functions/routes.js';
import type { IUserPool, IUserPoolClient, UserPoolDomain } from 'aws-cdk-lib/aws-cognito';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IBucket } from 'aws-cdk-lib/aws-s3';

const READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'] as const;
const READWRITE = [...READ, 'dynamodb:ConditionCheckItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] as const;

/**
 * DynamoDB actions per access level: exactly what the repositories call, and never Scan. Only the
 * stream consumer and the digest job write in batches (BatchWriteItem: no conditions).
 */
export const TABLE_ACTIONS = {
  none: [],
  read: READ,
  readwrite: READWRITE,
  batch: [...READWRITE, 'dynamodb:BatchWriteItem'],
} as const;

/**
 * Security events (refused credentials and requests, sign-ins) are counted in their own items, which
 * every function with table access may write, and only those: a partition key starting with EVT#.
 */
export const SECURITY_EVENT_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;

/** What a need is granted, and with which environment, in one place. */
export interface Needs {
  userPool: IUserPool;
  client: IUserPoolClient;
  signingSecret: ISecret;
  /** SAML SSO: the app client organizations' IdPs are enabled on, the pool's domain, the callback URL. */
  sso?: { client: IUserPoolClient; domain: UserPoolDomain; callbackUrl: string };
  /** Where activity-log exports are written (the stream consumer writes them; the API names them). */
  exportBucket?: IBucket;
  /** Where access-review reports are kept (the stream consumer writes them; the API serves them). */
  reviewsBucket?: IBucket;
}

/** An organization's SAML IdP in the pool, and the SSO client it is enabled on (Describe, then the whole Update). */
export const SSO_ACTIONS = [
  'cognito-idp:CreateIdentityProvider',
  'cognito-idp:UpdateIdentityProvider',
  'cognito-idp:DescribeIdentityProvider',
  'cognito-idp:DeleteIdentityProvider',
  'cognito-idp:DescribeUserPoolClient',
  'cognito-idp:UpdateUserPoolClient',
];

const DIRECTORY_ACTIONS = [
  'cognito-idp:AdminCreateUser',
  'cognito-idp:AdminSetUserPassword',
  'cognito-idp:AdminDisableUser',
  'cognito-idp:AdminEnableUser',
  'cognito-idp:AdminUserGlobalSignOut',
];

export interface RosterFunctionProps {
  /** Handler under functions/: `module` (export `handler`) or `module#export`. */
  handler: string;
  table: ITable;
  /** Table access; the grant and the TABLE_NAME variable are bound together here. */
  access: keyof typeof TABLE_ACTIONS;
  /** Other needs, each granted with its environment variable. */
  needs?: readonly Need[];
  /** An API route's function: it authenticates its requests itself, so it gets what that needs. */
  authenticates?: boolean;
  resources?: Needs;
  description?: string;
  timeout?: Duration;
  memorySize?: number;
  retention?: RetentionDays;
}

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The one way Roster defines a Lambda function: Node.js 22 on arm64, bundled by esbuild (minified,
 * with source maps), its own log group with a retention, and an execution role that may write to
 * that log group, touch the table with exactly the actions of its access level, and reach what its
 * needs name (Cognito admin calls on the pool, the signing secret), each with its variable.
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
      if (props.access === 'read') {
        this.role.addToPolicy(
          new PolicyStatement({
            effect: Effect.ALLOW,
            actions: [...SECURITY_EVENT_ACTIONS],
            resources: [arn],
            conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['EVT#*'] } },
          }),
        );
      }
    }
    for (const need of new Set([...(props.needs ?? []), ...(props.authenticates ? authentication : [])])) {
      const r = props.resources;
      if (!r) throw new Error(`${props.handler} needs ${need} but no identity resources were given`);
      if (need === 'directory' || need === 'mailer') {
        environment.COGNITO_USER_POOL_ID = r.userPool.userPoolId;
        const actions = need === 'directory' ? DIRECTORY_ACTIONS : ['cognito-idp:AdminCreateUser'];
        this.role.addToPolicy(new PolicyStatement({ actions, resources: [r.userPool.userPoolArn] }));
      } else if (need === 'signingKey') {
        environment.SIGNING_SECRET_ARN = r.signingSecret.secretArn;
        r.signingSecret.grantRead(this.role);
      } else if (need === 'exports') {
        if (!r.exportBucket) throw new Error(`${props.handler} needs exports but no export bucket was given`);
        environment.EXPORT_BUCKET = r.exportBucket.bucketName;
      } else if (need === 'reviews') {
        if (!r.reviewsBucket) throw new Error(`${props.handler} needs reviews but no reviews bucket was given`);
        environment.REVIEWS_BUCKET = r.reviewsBucket.bucketName;
        // Reading the reports (served by the API, hashed back by the consumer); only the consumer writes them (stream.ts).
        this.role.addToPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [r.reviewsBucket.arnForObjects('access-reviews/*')] }));
      } else if (need === 'userPool') {
        environment.COGNITO_USER_POOL_ID = r.userPool.userPoolId;
        environment.COGNITO_CLIENT_ID = r.client.userPoolClientId;
        if (r.sso) environment.COGNITO_SSO_CLIENT_ID = r.sso.client.userPoolClientId;
      } else if (need === 'sso') {
        if (!r.sso) throw new Error(`${props.handler} needs sso but no SSO client was given`);
        environment.COGNITO_USER_POOL_ID = r.userPool.userPoolId;
        environment.COGNITO_SSO_CLIENT_ID = r.sso.client.userPoolClientId;
        environment.COGNITO_DOMAIN_URL = r.sso.domain.baseUrl();
        environment.ROSTER_SSO_CALLBACK_URL = r.sso.callbackUrl;
        this.role.addToPolicy(new PolicyStatement({ actions: SSO_ACTIONS, resources: [r.userPool.userPoolArn] }));
      }
    }
    const ref = handlerRef(props.handler);
    this.fn = new NodejsFunction(this, 'Fn', {
      entry: `${root}functions/${ref.module}.ts`,
      projectRoot: root,
      depsLockFilePath: `${root}package-lock.json`,
      handler: ref.export,
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
