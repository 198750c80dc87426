import { type CfnElement, CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { cognitoTriggers, digestJob, fallback, reviewSweepJob, reviewSweepMinutes, routes, samlUpkeepJob, streamConsumer } from '../functions/routes.js';
import { Schedule as SchedulerSchedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { ExportBucket } from './constructs/exports.js';
import { RosterApi } from './constructs/api.js';
import { RosterTable } from './constructs/data.js';
import { RosterIdentity } from './constructs/identity.js';
import { RosterFunction } from './constructs/roster-function.js';
import { type CfnUserPool, LambdaVersion, UserPoolOperation } from 'aws-cdk-lib/aws-cognito';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { StreamConsumer } from './constructs/stream.js';

export class RosterStack extends Stack {
  readonly data: RosterTable;
  readonly identity: RosterIdentity;
  readonly api: RosterApi;
  readonly stream: StreamConsumer;
  readonly exports: ExportBucket;
  readonly reviews: ExportBucket;
  readonly digest: RosterFunction;
  readonly triggers: Record<keyof typeof cognitoTriggers, RosterFunction>;
  readonly samlUpkeep: RosterFunction;
  readonly reviewSweep: RosterFunction;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.data = new RosterTable(this, 'Data');
    this.identity = new RosterIdentity(this, 'Identity');
    this.exports = new ExportBucket(this, 'Exports');
    // Access-review reports are audit evidence: kept 400 days (a SOC 2 Type II period is 6 to 12 months).
    this.reviews = new ExportBucket(this, 'ReviewReports', { expirationDays: 400, accessLogs: this.exports.accessLogs, logPrefix: 'access-reviews/' });
    const resources = {
      userPool: this.identity.userPool,
      client: this.identity.client,
      signingSecret: this.identity.signingSecret,
      exportBucket: this.exports.bucket,
      reviewsBucket: this.reviews.bucket,
      sso: { client: this.identity.ssoClient, domain: this.identity.domain, callbackUrl: this.identity.ssoCallbackUrls[0]! },
    };
    this.api = new RosterApi(this, 'Api', { table: this.data.table, routes, fallback, identity: resources });
    const customMessage = new RosterFunction(this, 'InviteMessage', { handler: 'cognito/custom-message', table: this.data.table, access: 'none' });
    this.identity.userPool.addTrigger(UserPoolOperation.CUSTOM_MESSAGE, customMessage.fn);
    // SAML federation (functions/cognito/): admission before a federated user exists, the groups an
    // assertion carried, and just-in-time provisioning on every sign-in. The triggers get the table
    // only (nothing of the pool, which names them: no dependency cycle).
    this.triggers = {
      preSignUp: new RosterFunction(this, 'PreSignUp', { handler: cognitoTriggers.preSignUp.handler, table: this.data.table, access: cognitoTriggers.preSignUp.table }),
      inboundFederation: new RosterFunction(this, 'InboundFederation', { handler: cognitoTriggers.inboundFederation.handler, table: this.data.table, access: cognitoTriggers.inboundFederation.table }),
      preTokenGeneration: new RosterFunction(this, 'PreTokenGeneration', { handler: cognitoTriggers.preTokenGeneration.handler, table: this.data.table, access: cognitoTriggers.preTokenGeneration.table }),
    };
    this.identity.userPool.addTrigger(UserPoolOperation.PRE_SIGN_UP, this.triggers.preSignUp.fn);
    this.identity.userPool.addTrigger(UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, this.triggers.preTokenGeneration.fn, LambdaVersion.V2_0);
    // CDK has no operation for the inbound federation trigger yet: set it on the pool, and let Cognito invoke it.
    (this.identity.userPool.node.defaultChild as CfnUserPool).addPropertyOverride('LambdaConfig.InboundFederation', { LambdaArn: this.triggers.inboundFederation.fn.functionArn, LambdaVersion: 'V1_0' });
    this.triggers.inboundFederation.fn.addPermission('CognitoInvoke', { principal: new ServicePrincipal('cognito-idp.amazonaws.com'), sourceArn: this.identity.userPool.userPoolArn });
    this.samlUpkeep = new RosterFunction(this, 'SamlUpkeep', { handler: samlUpkeepJob.handler, table: this.data.table, access: samlUpkeepJob.table, needs: samlUpkeepJob.needs, resources, timeout: Duration.minutes(5) });
    new Rule(this, 'HourlySamlUpkeep', { schedule: Schedule.rate(Duration.hours(1)), targets: [new LambdaFunction(this.samlUpkeep.fn, { retryAttempts: 2 })] });
    new CfnOutput(this, 'SsoDomainUrl', { value: this.identity.domain.baseUrl(), description: 'User pool domain (managed login): ACS <url>/saml2/idpresponse' });
    new CfnOutput(this, 'SsoClientId', { value: this.identity.ssoClient.userPoolClientId, description: 'SSO app client (authorization code flow) organizations\' IdPs are enabled on' });
    new CfnOutput(this, 'UserPoolId', { value: this.identity.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: this.identity.client.userPoolClientId, description: 'App client for InitiateAuth (USER_PASSWORD_AUTH)' });
    this.stream = new StreamConsumer(this, 'Stream', { table: this.data.table, handler: streamConsumer.handler, needs: streamConsumer.needs, resources, exportBucket: this.exports.bucket, reviewsBucket: this.reviews.bucket });
    // The activity log's daily digests (tamper evidence), shortly after midnight UTC.
    this.digest = new RosterFunction(this, 'Digest', { handler: digestJob.handler, table: this.data.table, access: digestJob.table, timeout: Duration.minutes(15) });
    new Rule(this, 'DailyDigest', { schedule: Schedule.cron({ minute: '30', hour: '0' }), targets: [new LambdaFunction(this.digest.fn, { retryAttempts: 2 })] });
    // Access reviews: EventBridge Scheduler runs the sweep that starts due review definitions.
    this.reviewSweep = new RosterFunction(this, 'ReviewSweep', { handler: reviewSweepJob.handler, table: this.data.table, access: reviewSweepJob.table, timeout: Duration.minutes(5) });
    new SchedulerSchedule(this, 'ReviewSweepSchedule', {
      schedule: ScheduleExpression.rate(Duration.minutes(reviewSweepMinutes)),
      target: new LambdaInvoke(this.reviewSweep.fn, { retryAttempts: 2 }),
      description: 'Starts the access reviews whose next run is due',
    });
    new CfnOutput(this, 'TableName', { value: this.data.table.tableName, description: 'For infra/bootstrap.ts: creates the first organization and Owner' });

    // cdk-nag acknowledgements, each with its reason.
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'Every route authenticates its requests in its own function (the api() chain verifies the credential against fresh membership data and answers LSE\'s 401); a Lambda authorizer would be a second invocation and a second read of the caller on every request. The routes that take none are public by design, as in LSE: the token refresh (the token is its own credential) and the invitation signup.',
    }, {
      id: 'AwsSolutions-L1',
      reason: 'Roster pins Node.js 22 (nodejs22.x), the runtime its code and tests target; moving runtimes is a deliberate change, not an automatic one.',
    });
    Validations.of(this.stream.failures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the on-failure destination of the stream consumer; a queue behind it would only move the problem.',
    });
    Validations.of(this.identity.userPool).acknowledge({
      id: 'AwsSolutions-COG2',
      reason: 'MFA is optional (TOTP): service accounts sign in with passwords from automation, and people from SAML IdPs get MFA from their IdP.',
    });
    Validations.of(this.identity.userPool).acknowledge({
      id: 'AwsSolutions-COG8',
      reason: 'The Plus plan (threat protection) is a per-user cost the operator chooses; Roster refuses deactivated members on every request whatever Cognito says.',
    });
    Validations.of(this.identity.signingSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'The key signs 5-minute access tokens; Roster verifies with one key, so it is rotated by updating the secret (tokens issued before expire early), not by a rotation schedule yet.',
    });
    Validations.of(this.exports.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket receives the export bucket\'s server access logs; logging it into itself or a third bucket adds nothing an auditor needs.',
    });
    Validations.of(this.stream.function.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.exports.bucket.node.defaultChild as CfnElement)}.Arn>/activity-logs/*]`,
      reason: 'Exports are written as new objects under keys chosen at run time (one per export); the grant is bound to this one bucket.',
    });
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.reviews.bucket.node.defaultChild as CfnElement)}.Arn>/access-reviews/*]`,
      reason: 'Review reports are objects under keys chosen at run time (one folder per review); the stream consumer writes them and the report routes read them, bound to this one bucket and prefix.',
    });
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.reviewSweep.fn.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason: "EventBridge Scheduler's role may invoke the review sweep function and its versions (the target grant names the function ARN and ARN:*), nothing else.",
    });
    Validations.of(this.stream.function.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'dynamodb:ListStreams, which the DynamoDB event source mapping needs, has no resource-level permissions; every other action is bound to the table stream ARN.',
    });
  }
}
