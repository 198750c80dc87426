import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer, type Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { newRoundTrips, roundTrips } from '../../lib/core/db.js';
import { type Route, gatewayPath, handlerRef, routePattern } from '../../functions/routes.js';

type Handler = (event: never, context: Context) => Promise<unknown>;
export type LoadHandler = (module: string) => Promise<Handler>;

/** API Gateway's own payload limit for HTTP APIs. */
const GATEWAY_MAX_BODY = 10 * 1024 * 1024;

interface CompiledRoute extends Route {
  pattern: RegExp;
  params: string[];
}

const compile = (route: Route): CompiledRoute => {
  const { re, params } = routePattern(route.path);
  return { ...route, pattern: re, params };
};

export function lambdaContext(functionName: string, requestId: string): Context {
  const deadline = Date.now() + 29_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= GATEWAY_MAX_BODY) chunks.push(c);
    });
    req.on('end', () => resolve(size > GATEWAY_MAX_BODY ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const isText = (contentType: string | undefined) =>
  !contentType || /^(text\/|application\/(.+\+)?(json|xml|x-www-form-urlencoded)|application\/javascript)/i.test(contentType);

export interface GatewayOptions {
  routes: readonly Route[];
  /** Module answering requests that match no route (API Gateway's `$default` route). */
  fallback: string;
  load: LoadHandler;
  log?: (line: string) => void;
  /** False while the runtime is still starting (DynamoDB Local, the table): requests get 503. */
  ready?: () => boolean;
}

/**
 * An HTTP server that behaves like an API Gateway HTTP API (payload format 2.0) in front of the
 * route table: it turns each request into the event API Gateway would send, invokes the route's
 * function (which authenticates the request itself), and writes its result back. Each request is
 * logged as one line with its status, time, and DynamoDB calls / sequential round trips.
 */
export function createGateway(opts: GatewayOptions): Server {
  // API Gateway prefers the route with the fewest path variables.
  const compiled = opts.routes.map(compile).sort((a, b) => a.params.length - b.params.length);

  async function handle(req: IncomingMessage, res: ServerResponse) {
    if (opts.ready && !opts.ready()) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify({ detail: 'Roster is starting; try again in a moment.' }));
      return;
    }
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const requestId = randomUUID();
    const counter = newRoundTrips();

    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
    // Headers API Gateway adds to every request.
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '127.0.0.1';
    headers['x-forwarded-port'] = String(req.socket.localPort ?? '');
    headers['x-forwarded-proto'] = 'http';
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;

    const route = compiled.find((r) => r.method === method && r.pattern.test(url.pathname));
    const pathParameters: Record<string, string> = {};
    if (route) route.pattern.exec(url.pathname)!.slice(1).forEach((v, i) => (pathParameters[route.params[i]!] = decodeURIComponent(v)));
    const routeKey = route ? `${route.method} ${gatewayPath(route.path)}` : '$default';

    const send = (result: APIGatewayProxyStructuredResultV2) => {
      const status = result.statusCode ?? 200;
      res.writeHead(status, { ...(result.headers as Record<string, string>), ...(result.cookies?.length ? { 'set-cookie': result.cookies } : {}) });
      res.end(result.body ? Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8') : undefined);
      opts.log?.(`${method} ${url.pathname}${url.search} ${status} ${Date.now() - started}ms db=${counter.calls}/${counter.trips}`);
    };

    const raw = await readBody(req);
    if (raw === 'too-large') return send({ statusCode: 413, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ detail: 'Request Entity Too Large' }) });

    const sourceIp = req.socket.remoteAddress ?? '127.0.0.1';
    const now = new Date();
    const http = { method, path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp, userAgent: headers['user-agent'] ?? '' };
    const requestContext = {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0]!,
      http,
      requestId,
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    };
    const common = {
      version: '2.0' as const,
      routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
      ...(route && route.params.length ? { pathParameters } : {}),
      ...(headers.cookie ? { cookies: headers.cookie.split(/;\s*/) } : {}),
    };

    await roundTrips.run(counter, async () => {
      const event = {
        ...common,
        body: raw.length ? (isText(headers['content-type']) ? raw.toString('utf8') : raw.toString('base64')) : undefined,
        isBase64Encoded: raw.length > 0 && !isText(headers['content-type']),
        requestContext,
      } as APIGatewayProxyEventV2;
      // As in AWS: the route's module's Lambda handler, which dispatches on the route key.
      const module = route ? handlerRef(route.handler).module : opts.fallback;
      const handler = (await opts.load(module)) as unknown as (e: typeof event, c: Context) => Promise<APIGatewayProxyStructuredResultV2>;
      send(await handler(event, lambdaContext(module, requestId)));
    });
  }

  return createServer((req, res) => {
    handle(req, res).catch((err) => {
      // What API Gateway answers when an integration fails.
      console.error(err);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Internal Server Error' }));
    });
  });
}
