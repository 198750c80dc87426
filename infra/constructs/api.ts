import { CfnOutput } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type Route, gatewayPath, handlerRef } from '../../functions/routes.js';
import { type Needs, RosterFunction } from './roster-function.js';

export interface RosterApiProps {
  table: ITable;
  routes: readonly Route[];
  fallback: { handler: string };
  identity: Needs;
}

/**
 * The HTTP API: every route of the route table, served by its handler module's function, which
 * authenticates each request itself (no authorizer: one Lambda invocation per request, membership
 * read fresh in the route's first DynamoDB round trip), a `$default` route for unknown paths, JSON
 * access logs and stage throttling.
 */
export class RosterApi extends Construct {
  readonly api: HttpApi;
  readonly functions: Record<string, RosterFunction> = {};

  constructor(scope: Construct, id: string, props: RosterApiProps) {
    super(scope, id);
    const fallback = new RosterFunction(this, 'Fallback', { handler: props.fallback.handler, table: props.table, access: 'none' });
    this.api = new HttpApi(this, 'HttpApi', {
      apiName: 'roster',
      createDefaultStage: false,
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
    // One function per handler module: its routes share it (it dispatches on the route key), and
    // its grants are the union of what they need. One function per route would pass
    // CloudFormation's 500-resource limit.
    const modules = new Map<string, Route[]>();
    for (const route of props.routes) {
      const module = handlerRef(route.handler).module;
      modules.set(module, [...(modules.get(module) ?? []), route]);
    }
    for (const [module, moduleRoutes] of modules) {
      const id = module.replace(/[^A-Za-z0-9]+/g, '-');
      const access = moduleRoutes.some((r) => r.table === 'readwrite') ? 'readwrite' : moduleRoutes.every((r) => r.table === 'none') ? 'none' : 'read';
      const needs = [...new Set(moduleRoutes.flatMap((r) => r.needs ?? []))];
      const fn = new RosterFunction(this, id, { handler: module, table: props.table, access, needs, authenticates: true, resources: props.identity });
      // One invoke permission per function, scoped to this API (one per route would be 130 resources).
      const integration = new HttpLambdaIntegration(id, fn.fn, { scopePermissionToRoute: false });
      for (const route of moduleRoutes) {
        this.functions[`${route.method} ${route.path}`] = fn;
        this.api.addRoutes({ path: gatewayPath(route.path), methods: [HttpMethod[route.method]], integration });
      }
    }
    new CfnOutput(this, 'Url', { value: this.api.apiEndpoint, description: 'Roster API base URL' });
  }
}
