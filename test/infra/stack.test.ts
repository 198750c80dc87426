import { App, type CfnElement, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { authentication, gatewayPath, handlerRef, routes } from '../../functions/routes.js';
import { SECURITY_EVENT_ACTIONS, TABLE_ACTIONS } from '../../infra/constructs/roster-function.js';
import { RosterStack } from '../../infra/stack.js';
import { TABLE } from '../../lib/core/table.js';

let template: Template;
let stack: RosterStack;

/** Bundling is skipped here (`npm run synth` bundles for real); the template is otherwise the deployed one. */
const newApp = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

beforeAll(() => {
  stack = new RosterStack(newApp(), 'Roster');
  template = Template.fromStack(stack);
});

const resources = (type: string) => Object.entries(template.findResources(type));

describe('Roster stack', () => {
  it('stays well inside CloudFormation\'s 500 resources: API Gateway gets one invoke permission per function, scoped to the API', () => {
    const all = Object.keys(template.toJSON().Resources).length;
    expect(all).toBeLessThan(450);
    const permissions = resources('AWS::Lambda::Permission').map(([, r]) => r.Properties);
    const apiPermissions = permissions.filter((p) => p.Principal === 'apigateway.amazonaws.com');
    const functions = new Set(apiPermissions.map((p) => JSON.stringify(p.FunctionName)));
    expect(apiPermissions).toHaveLength(functions.size);
    // Scoped to the API (any stage, method and path), never one per route.
    for (const p of apiPermissions) expect(JSON.stringify(p.SourceArn)).toMatch(/\/\*\/\*(\/\*)?"\]\]\}$/);
  });

  it('builds the table from the shared schema: keys, index, stream, TTL, PITR, deletion protection', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'PK', KeyType: 'HASH' },
        { AttributeName: 'SK', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      GlobalSecondaryIndexes: TABLE.indexes.map((i) => Match.objectLike({ IndexName: i.name })),
    });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
  });

  it('declares every route of the route table, and a $default route, with no Lambda authorizer in front of any', () => {
    const declared = resources('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(declared.map((r) => r.RouteKey).sort()).toEqual(['$default', ...routes.map((r) => `${r.method} ${gatewayPath(r.path)}`)].sort());
    expect(resources('AWS::ApiGatewayV2::Authorizer')).toEqual([]);
    for (const r of declared) {
      expect(r.AuthorizerId).toBeUndefined();
      expect(r.AuthorizationType ?? 'NONE').toBe('NONE');
    }
  });

  it('runs every function on Node.js 22, arm64, with source maps and a log group with retention', () => {
    const fns = resources('AWS::Lambda::Function');
    // Route modules, the fallback, the invitation message, the stream consumer, the digest job,
    // the three SAML triggers, the SAML upkeep job and the review sweep.
    expect(fns).toHaveLength(new Set(routes.map((r) => handlerRef(r.handler).module)).size + 9);
    for (const [, fn] of fns) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
      expect(fn.Properties.LoggingConfig.LogGroup).toBeDefined();
    }
    for (const [, lg] of resources('AWS::Logs::LogGroup')) expect(lg.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  /** A route's function serves its whole module: what the module's routes need together. */
  const moduleOf = (route: (typeof routes)[number]) => routes.filter((r) => handlerRef(r.handler).module === handlerRef(route.handler).module);

  it('grants each function exactly the table actions of its routes, never Scan, bound to the table and its indexes', () => {
    for (const route of routes) {
      const fn = stack.api.functions[`${route.method} ${route.path}`]!;
      const doc = template.toJSON().Resources[stack.getLogicalId(fn.role.node.findChild('DefaultPolicy').node.defaultChild as CfnElement)];
      const statements = doc.Properties.PolicyDocument.Statement as { Action: string[] | string; Resource: unknown; Condition?: unknown }[];
      const dynamo = statements.filter((s) => !s.Condition && [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
      const env = template.toJSON().Resources[stack.getLogicalId(fn.fn.node.defaultChild as CfnElement)].Properties.Environment.Variables;
      if (moduleOf(route).every((r) => r.table === 'none')) {
        // A module that needs no table (the API's own description) gets no table at all.
        expect(JSON.stringify(statements)).not.toContain('dynamodb:');
        expect(env.TABLE_NAME).toBeUndefined();
        continue;
      }
      expect(dynamo).toHaveLength(1);
      const access = moduleOf(route).some((r) => r.table === 'readwrite') ? 'readwrite' : 'read';
      // Besides: read-only functions may write security-event items (EVT#…), and nothing else.
      const events = statements.filter((s) => s.Condition);
      if (access === 'read') {
        expect(events).toHaveLength(1);
        expect([events[0]!.Action].flat().sort()).toEqual([...SECURITY_EVENT_ACTIONS].sort());
        expect(events[0]!.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['EVT#*'] } });
      } else expect(events).toHaveLength(0);
      expect([dynamo[0]!.Action].flat().sort()).toEqual([...TABLE_ACTIONS[access]].sort());
      expect(JSON.stringify(dynamo[0]!.Resource)).toContain('/index/GSI1');
      expect(JSON.stringify(statements)).not.toContain('dynamodb:Scan');
      expect(env.TABLE_NAME).toBeDefined();
    }
  });

  it('grants Cognito admin calls only to the functions whose routes need them, and to every route function what authenticating needs (signing secret, user pool), each with its variable', () => {
    const statementsOf = (role: { node: { findChild(id: string): { node: { defaultChild?: unknown } } } }) =>
      template.toJSON().Resources[stack.getLogicalId(role.node.findChild('DefaultPolicy').node.defaultChild as CfnElement)].Properties.PolicyDocument.Statement as { Action: string[] | string }[];
    for (const route of routes) {
      const fn = stack.api.functions[`${route.method} ${route.path}`]!;
      const actions = statementsOf(fn.role).flatMap((st) => [st.Action].flat());
      const env = template.toJSON().Resources[stack.getLogicalId(fn.fn.node.defaultChild as CfnElement)].Properties.Environment.Variables;
      const needs = [...moduleOf(route).flatMap((r) => r.needs ?? []), ...authentication];
      expect(['SIGNING_SECRET_ARN', 'COGNITO_USER_POOL_ID', 'COGNITO_CLIENT_ID'].filter((v) => !(v in env)), route.path).toEqual([]);
      expect(actions.some((a) => a.startsWith('cognito-idp:AdminDisableUser')), route.path).toBe(needs.includes('directory'));
      expect(actions.includes('cognito-idp:AdminCreateUser'), route.path).toBe(needs.includes('directory') || needs.includes('mailer'));
      expect(actions.includes('secretsmanager:GetSecretValue'), route.path).toBe(needs.includes('signingKey'));
      expect('SIGNING_SECRET_ARN' in env, route.path).toBe(needs.includes('signingKey'));
      expect('COGNITO_USER_POOL_ID' in env, route.path).toBe(needs.some((n) => n !== 'signingKey' && n !== 'exports' && n !== 'reviews'));
      expect('EXPORT_BUCKET' in env, route.path).toBe(needs.includes('exports'));
      expect('REVIEWS_BUCKET' in env, route.path).toBe(needs.includes('reviews'));
      // Only the review-report routes read S3 (their reports); no route writes it.
      expect(actions.filter((a) => a.startsWith('s3:')), route.path).toEqual(needs.includes('reviews') ? ['s3:GetObject'] : []);
    }
  });

  it('has a user pool nobody signs up to on their own, an app client with USER_PASSWORD_AUTH, and the invitation trigger', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: Match.objectLike({ AllowAdminCreateUserOnly: true }),
      LambdaConfig: { CustomMessage: Match.anyValue() },
      DeletionProtection: 'ACTIVE',
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      ExplicitAuthFlows: Match.arrayWith(['ALLOW_USER_PASSWORD_AUTH']),
      GenerateSecret: false,
    });
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
  });

  it('wires the stream consumer with bounded retries, bisect, max age, partial batch responses and an SQS on-failure destination', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      MaximumRetryAttempts: 3,
      BisectBatchOnFunctionError: true,
      MaximumRecordAgeInSeconds: 86400,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0 });
  });

  it('keeps activity-log exports in a private, encrypted, TLS-only bucket that only the stream consumer may write', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'exports/' }),
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 30, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } })]) },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    const writers = resources('AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties.PolicyDocument).includes('s3:PutObject'));
    expect(writers.map(([id]) => id)).toEqual([stack.getLogicalId(stack.stream.function.role.node.findChild('DefaultPolicy').node.defaultChild as CfnElement)]);
  });

  it('keeps access-review reports 400 days in a private, encrypted bucket of their own that only the stream consumer writes and the report routes read', () => {
    const bucket = stack.getLogicalId(stack.reviews.bucket.node.defaultChild as CfnElement);
    const props = template.toJSON().Resources[bucket].Properties;
    expect(props.LifecycleConfiguration.Rules).toEqual([expect.objectContaining({ ExpirationInDays: 400, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } })]);
    expect(props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(props.LoggingConfiguration.LogFilePrefix).toBe('access-reviews/');
    const consumer = JSON.stringify(template.toJSON().Resources[stack.getLogicalId(stack.stream.function.role.node.findChild('DefaultPolicy').node.defaultChild as CfnElement)].Properties.PolicyDocument);
    expect(consumer).toContain('access-reviews/*');
    const env = template.toJSON().Resources[stack.getLogicalId(stack.stream.function.fn.node.defaultChild as CfnElement)].Properties.Environment.Variables;
    expect(env.REVIEWS_BUCKET).toEqual({ Ref: bucket });
  });

  it('runs the activity-log digest daily on a schedule', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(30 0 * * ? *)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [stack.getLogicalId(stack.digest.fn.node.defaultChild as CfnElement), 'Arn'] } })],
    });
  });

  it('runs the access-review sweep on an EventBridge Scheduler schedule, every 15 minutes, with a table grant and no batch writes', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(15 minutes)',
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [stack.getLogicalId(stack.reviewSweep.fn.node.defaultChild as CfnElement), 'Arn'] } }),
    });
    const doc = template.toJSON().Resources[stack.getLogicalId(stack.reviewSweep.fn.role!.node.findChild('DefaultPolicy').node.defaultChild as CfnElement)];
    const actions = (doc.Properties.PolicyDocument.Statement as { Action: string[] | string }[]).flatMap((s) => [s.Action].flat());
    expect(actions).toContain('dynamodb:Query');
    expect(actions).not.toContain('dynamodb:BatchWriteItem');
    expect(actions).not.toContain('dynamodb:Scan');
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged finding, and every acknowledgement gives a reason', () => {
    const app = newApp();
    const checked = new RosterStack(app, 'Roster');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
    const acks = checked.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    const exportBucket = checked.getLogicalId(checked.exports.bucket.node.defaultChild as CfnElement);
    const reviewsBucket = checked.getLogicalId(checked.reviews.bucket.node.defaultChild as CfnElement);
    const sweep = checked.getLogicalId(checked.reviewSweep.fn.node.defaultChild as CfnElement);
    expect(acks.map(([id]) => id).sort()).toEqual([
      'Annotation::AwsSolutions-APIG4',
      'Annotation::AwsSolutions-COG2',
      'Annotation::AwsSolutions-COG8',
      'Annotation::AwsSolutions-IAM5[Resource::*]',
      `Annotation::AwsSolutions-IAM5[Resource::<${exportBucket}.Arn>/activity-logs/*]`,
      `Annotation::AwsSolutions-IAM5[Resource::<${reviewsBucket}.Arn>/access-reviews/*]`,
      `Annotation::AwsSolutions-IAM5[Resource::<${sweep}.Arn>:*]`,
      'Annotation::AwsSolutions-L1',
      'Annotation::AwsSolutions-S1',
      'Annotation::AwsSolutions-SMG4',
      'Annotation::AwsSolutions-SQS3',
      // aws-cdk-lib's own, on the access-log bucket's policy: one per bucket logging into it (exports, review reports).
      'CloudFormation-Validate::W3045',
      'CloudFormation-Validate::W3045',
    ]);
    for (const [, reason] of acks) expect(reason.length).toBeGreaterThan(40);
  });
});
