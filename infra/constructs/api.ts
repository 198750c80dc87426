import { CfnOutput, Duration } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type Need, type Route, gatewayPath } from '../../functions/routes.js';
import { type Needs, RosterFunction } from './roster-function.js';

export interface RosterApiProps {
  table: ITable;
  routes: readonly Route[];
  authorizer: { handler: string; table: 'read'; needs: readonly Need[] };
  fallback: { handler: string };
  identity: Needs;
}

/** Construct id of a route's function, from its method and path. */
export const routeId = (r: Route) =>
  `${r.method}${r.path.replace(/\{(\w+)\}/g, 'By-$1').replace(/[^A-Za-z0-9]+/g, '-')}`.replace(/-+$/, '');

/**
 * The HTTP API: every route of the route table with its own function, the Lambda authorizer on
 * every route (no result cache, so membership is read fresh per request), a `$default` route for
 * unknown paths, JSON access logs and stage throttling.
 */
export class RosterApi extends Construct {
  readonly api: HttpApi;
  readonly functions: Record<string, RosterFunction> = {};

  constructor(scope: Construct, id: string, props: RosterApiProps) {
    super(scope, id);
    const auth = new RosterFunction(this, 'Authorizer', { handler: props.authorizer.handler, table: props.table, access: props.authorizer.table, needs: props.authorizer.needs, resources: props.identity });
    const authorizer = new HttpLambdaAuthorizer('TokenAuthorizer', auth.fn, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      resultsCacheTtl: Duration.seconds(0),
      // No identity source: the authorizer runs even without an Authorization header, so that
      // the handler can answer LSE's 401 body instead of API Gateway's own.
      identitySource: [],
    });
    const fallback = new RosterFunction(this, 'Fallback', { handler: props.fallback.handler, table: props.table, access: 'none' });
    this.api = new HttpApi(this, 'HttpApi', {
      apiName: 'roster',
      createDefaultStage: false,
      defaultAuthorizer: authorizer,
      defaultIntegration: new HttpLambdaIntegration('Fallback', fallback.fn),
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.THREE_MONTHS });
    new HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 200, burstLimit: 400 },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: AccessLogFormat.jsonWithStandardFields() },
    });
    for (const route of props.routes) {
      const id = routeId(route);
      const fn = new RosterFunction(this, id, { handler: route.handler, table: props.table, access: route.table, needs: route.needs, resources: props.identity });
      this.functions[`${route.method} ${route.path}`] = fn;
      this.api.addRoutes({ path: gatewayPath(route.path), methods: [HttpMethod[route.method]], integration: new HttpLambdaIntegration(id, fn.fn) });
    }
    new CfnOutput(this, 'Url', { value: this.api.apiEndpoint, description: 'Roster API base URL' });
  }
}
