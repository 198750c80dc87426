import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEventV2WithLambdaAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { z } from 'zod';
import type { AuthContext } from '../lib/identity/auth.js';
import { type Db, db } from '../lib/core/db.js';
import {
  AuthenticationError,
  DomainError,
  type FieldErrors,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../lib/core/errors.js';
import { type ChangeContext, type Source, withChangeContext } from '../lib/core/context.js';
import { type Principal, VIAS, type Via } from '../lib/core/model.js';
import { recordSecurityEvent } from '../lib/identity/security.js';
import { ROLES, isRole } from '../lib/core/roles.js';
import { gatewayPath, handlerRef, routes } from './routes.js';

export type ApiEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<AuthContext>;
export type ApiResult = APIGatewayProxyStructuredResultV2;

/** Largest request body a handler accepts (API Gateway itself stops at 10 MB). */
export const MAX_BODY_BYTES = 256 * 1024;

export const logger = new Logger({ serviceName: 'roster' });

export interface Spec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  params?: P;
  query?: Q;
  body?: B;
  /**
   * 'required' (default): a verified caller or LSE's 401. 'optional': `caller` when a valid
   * credential came, none otherwise (a wrong one is still 401). 'none': credentials are ignored.
   */
  auth?: 'required' | 'optional' | 'none';
  /** Where the changes this route makes come from, for the activity log (default 'api'). */
  source?: Source;
  /**
   * The status the route answers with when its writes commit, recorded on them for the activity
   * log (default: 201 for POST, 204 for DELETE, 200 otherwise).
   */
  status?: number | readonly number[];
}

export interface Input<P, Q, B> {
  /** The verified caller (routes with auth 'required'). */
  principal: Principal;
  /** The caller when one authenticated (routes with auth 'optional'). */
  caller?: Principal;
  params: P;
  query: Q;
  body: B;
  event: ApiEvent;
  db: Db;
  /** The change context the route's writes are stamped with. */
  change: ChangeContext;
}

const fieldErrors = (error: z.ZodError): FieldErrors => {
  const out: FieldErrors = {};
  for (const issue of error.issues) {
    const key = issue.path.length ? issue.path.join('.') : 'non_field_errors';
    (out[key] ??= []).push(issue.message);
  }
  return out;
};

/** The principal the authorizer resolved, or LSE's 401 (HTTP APIs cannot shape an authorizer's refusal). */
function principalOf(event: ApiEvent, mode: 'required' | 'optional'): Principal | undefined {
  const ctx = event.requestContext.authorizer?.lambda;
  if (!ctx) throw new AuthenticationError();
  if (mode === 'optional' && !event.headers.authorization) return undefined;
  if ('error' in ctx) throw new AuthenticationError(ctx.error);
  if (!isRole(ctx.role) || !(VIAS as readonly string[]).includes(ctx.via)) throw new AuthenticationError();
  return { userId: Number(ctx.userId), orgId: Number(ctx.orgId), role: ctx.role, via: ctx.via as Via, overrides: JSON.parse(ctx.overrides || '{}'), email: ctx.email || undefined };
}

/** Who is asking, from where: what every write of this request is stamped with. */
/** The statuses a route answers with when its writes commit (the first is the one its writes are stamped with). */
function successStatuses(spec: { status?: number | readonly number[] }, method: string): readonly number[] {
  if (spec.status !== undefined) return typeof spec.status === 'number' ? [spec.status] : spec.status;
  return [method === 'POST' ? 201 : method === 'DELETE' ? 204 : 200];
}

function requestContext(event: ApiEvent, spec: { source?: Source; status?: number | readonly number[] }, caller: Principal | undefined): ChangeContext {
  const method = event.requestContext.http.method;
  return {
    source: spec.source ?? 'api',
    status: successStatuses(spec, method)[0],
    ...(caller ? { actor_id: caller.userId, actor_email: caller.email, organization: caller.orgId } : {}),
    request_id: event.requestContext.requestId,
    ip: event.requestContext.http.sourceIp,
    user_agent: event.headers['user-agent'],
    method,
    path: event.rawPath,
  };
}

const bodyLimit = (): MiddlewareObj<ApiEvent, ApiResult> => ({
  before: ({ event }) => {
    if (event.body && Buffer.byteLength(event.body, event.isBase64Encoded ? 'base64' : 'utf8') > MAX_BODY_BYTES) {
      throw new PayloadTooLargeError(MAX_BODY_BYTES);
    }
  },
});

function validation<P, Q, B>(spec: Spec<z.ZodType<P>, z.ZodType<Q>, z.ZodType<B>>): MiddlewareObj<ApiEvent, ApiResult, Error, Context & { input: Input<P, Q, B> }> {
  return {
    before: (request) => {
      const { event } = request;
      const mode = spec.auth ?? 'required';
      const caller = mode === 'none' ? undefined : principalOf(event, mode);
      const params = (spec.params ?? z.object({})).safeParse(event.pathParameters ?? {});
      if (!params.success) throw new NotFoundError();
      const query = (spec.query ?? z.object({})).safeParse(event.queryStringParameters ?? {});
      if (!query.success) throw new ValidationError('Validation error', fieldErrors(query.error));
      const body = (spec.body ?? z.unknown()).safeParse(event.body);
      if (!body.success) throw new ValidationError('Validation error', fieldErrors(body.error));
      const change = requestContext(event, spec, caller);
      request.context.input = { principal: caller as Principal, caller, params: params.data as P, query: query.data as Q, body: body.data as B, event, db: db(), change };
    },
  };
}

const json = (statusCode: number, body: unknown): ApiResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** A refused request (403) enters the activity log as a security event, rate-limited per caller. */
async function refused(context: { input?: Input<unknown, unknown, unknown> }, detail: string): Promise<void> {
  const c = context.input?.change;
  const p = context.input?.caller;
  if (!c || !p) return;
  try {
    await recordSecurityEvent(context.input!.db, `forbidden#${p.orgId}#${p.userId}`, {
      action: 'auth.forbidden',
      organization: p.orgId,
      actor_id: p.userId,
      actor_email: p.email ?? null,
      ip: c.ip ?? null,
      user_agent: c.user_agent ?? null,
      method: c.method ?? null,
      path: c.path ?? null,
      request_id: c.request_id ?? null,
      status: 403,
      detail,
    });
  } catch (err) {
    // The refusal stands whether or not it could be recorded.
    logger.error('could not record a refused request', err as Error);
  }
}

/** The one place a failure becomes a status: domain errors carry theirs; anything else is a logged 500. */
const errorHandler = (): MiddlewareObj<ApiEvent, ApiResult> => ({
  onError: async (request) => {
    let err: Error = request.error as Error;
    if ((err.cause as { package?: string } | undefined)?.package === '@middy/http-json-body-parser') {
      err = err.message === 'Unsupported Media Type' ? new UnsupportedMediaTypeError() : new ValidationError('JSON parse error: malformed JSON body.');
    }
    if (err instanceof DomainError) {
      if (err.status >= 500) logger.error('request failed', err);
      if (err.status === 403) await refused(request.context as { input?: Input<unknown, unknown, unknown> }, err.detail);
      request.response = json(err.status, err.body());
      return;
    }
    logger.error('unhandled error', err);
    request.response = json(500, { detail: 'Internal server error.' });
  },
});

/**
 * Build a Lambda handler for one route: header normalizer → body limit → JSON body parser (when the
 * route takes a body) → validation (principal, params, query, body) → logger → error handler.
 */
export function api<P extends z.ZodType = z.ZodObject, Q extends z.ZodType = z.ZodObject, B extends z.ZodType = z.ZodUnknown>(
  spec: Spec<P, Q, B>,
  fn: (input: Input<z.output<P>, z.output<Q>, z.output<B>>) => Promise<ApiResult>,
) {
  const chain = middy<ApiEvent, ApiResult, Error, Context & { input: Input<z.output<P>, z.output<Q>, z.output<B>> }>()
    .use(httpHeaderNormalizer())
    .use(bodyLimit());
  if (spec.body) chain.use(httpJsonBodyParser());
  return chain
    .use(validation(spec as Spec<z.ZodType<z.output<P>>, z.ZodType<z.output<Q>>, z.ZodType<z.output<B>>>))
    .use(injectLambdaContext(logger))
    .use(errorHandler())
    .handler(async (_event, context) => {
      const response = await withChangeContext(context.input.change, () => fn(context.input));
      const status = response.statusCode ?? 200;
      // The statuses declared for the activity log are the ones the route answers with.
      const declared = successStatuses(spec, context.input.event.requestContext.http.method);
      if (status < 300 && !declared.includes(status)) logger.warn('route answered other than its declared status', { status, declared });
      return response;
    });
}

export const ok = (body: unknown, status = 200) => json(status, body);

/** Path-parameter ids: positive integers, as in LSE's URL patterns (anything else is a 404). */
export const idParam = z
  .string()
  .regex(/^[1-9][0-9]{0,14}$/)
  .transform(Number);

/** This API's own base URL, as the client reached it. */
export const apiBase = (event: ApiEvent) => `${event.headers['x-forwarded-proto'] ?? 'https'}://${event.requestContext.domainName}`;

/** The public base URL: ROSTER_PUBLIC_URL when set (the app in front of Roster), else this API's own. */
export const origin = (event: ApiEvent) => process.env.ROSTER_PUBLIC_URL ?? apiBase(event);

/** An absolute link to this path with the given query (LSE's `next`/`previous`). */
export function link(event: ApiEvent, query: Record<string, string | number | undefined>): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
  return `${apiBase(event)}${event.rawPath}?${qs}`;
}

export const noContent = (): ApiResult => ({ statusCode: 204 });

/** Organization role codes, as LSE's request bodies take them. */
export const roleField = z.enum(ROLES);

/** LSE's comma-separated query lists (`role=AN,RE`, `ids=1,2`). */
const csv = z.string().transform((s) => s.split(',').filter(Boolean));
export const csvRoles = csv.pipe(z.array(roleField).max(ROLES.length));
export const csvIds = csv.pipe(z.array(z.string().regex(/^[1-9][0-9]{0,14}$/).transform(Number)).max(1000));

/** A Lambda handler of one route, as `api()` builds it (its context type carries that route's input). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Handler = (event: ApiEvent, context: any) => Promise<ApiResult>;

/**
 * The one Lambda handler of a module that serves several routes: it finds the route by API
 * Gateway's route key in the route table and calls that route's export. Unknown keys are 404.
 */
export function routed(module: string, handlers: Record<string, Handler>): (event: ApiEvent, context: Context) => Promise<ApiResult> {
  const byKey = new Map<string, Handler>();
  for (const r of routes) {
    const ref = handlerRef(r.handler);
    if (ref.module !== module) continue;
    const h = handlers[ref.export];
    if (!h) throw new Error(`${module} has no export ${ref.export} for ${r.method} ${r.path}`);
    byKey.set(`${r.method} ${gatewayPath(r.path)}`, h);
  }
  return async (event, context) => {
    const h = byKey.get(event.routeKey);
    return h ? h(event, context) : json(404, { detail: 'Not found.' });
  };
}
