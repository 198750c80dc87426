import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { z } from 'zod';
import { verifyAccessToken } from '../lib/identity/access-tokens.js';
import { type Authenticated, type Caller, type Prefetch, type Verifiers, authenticate } from '../lib/identity/auth.js';
import { cognitoConfigFromEnv, cognitoVerifier } from '../lib/identity/cognito.js';
import { signingKey } from '../lib/identity/signing-key.js';
import { type Db, RequestReads, db, remember, requestReads } from '../lib/core/db.js';
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
import type { Principal } from '../lib/core/model.js';
import { recordSecurityEvent, recordSignIn } from '../lib/identity/security.js';
import { ROLES } from '../lib/core/roles.js';
import { gatewayPath, handlerRef, routes } from './routes.js';
import { ScimError, scimErrorBody } from '../lib/federation/scim/errors.js';
import { type ScimCaller, authenticateScim } from '../lib/federation/scim/tokens.js';

export type ApiEvent = APIGatewayProxyEventV2;
export type ApiResult = APIGatewayProxyStructuredResultV2;

/** Largest request body a handler accepts (API Gateway itself stops at 10 MB). */
export const MAX_BODY_BYTES = 256 * 1024;

export const logger = new Logger({ serviceName: 'roster' });

type Key = { PK: string; SK: string };

/** What a route's prefetch is given: its parsed input and the ids its caller's credential names. */
export type PrefetchInput<P, Q, B> = { params: P; query: Q; body: B } & Caller;

export interface Spec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, E = undefined> {
  params?: P;
  query?: Q;
  body?: B;
  /**
   * 'required' (default): a verified caller or LSE's 401. 'optional': `caller` when a valid
   * credential came, none otherwise (a wrong one is still 401). 'none': credentials are ignored.
   */
  auth?: 'required' | 'optional' | 'none';
  /**
   * Items the route reads first: they come back in the same BatchGetItem as the caller's membership,
   * and the route's own reads of them (batchGet, getItem) are served from it.
   */
  prefetch?: (at: PrefetchInput<z.output<P>, z.output<Q>, z.output<B>>) => Key[];
  /** A read started at the same moment as the caller's BatchGetItem; its result is the input's `early`. */
  alongside?: (db: Db, at: PrefetchInput<z.output<P>, z.output<Q>, z.output<B>>) => Promise<E>;
  /** Where the changes this route makes come from, for the activity log (default 'api'). */
  source?: Source;
  /**
   * The status the route answers with when its writes commit, recorded on them for the activity
   * log (default: 201 for POST, 204 for DELETE, 200 otherwise).
   */
  status?: number | readonly number[];
  /**
   * What the route answers, per status, for the OpenAPI document (functions/openapi/): a zod
   * schema of the JSON body, a non-JSON body's media type, or null for no body. Error statuses
   * are LSE's `{detail}` shapes and need not be listed.
   */
  responses?: Responses;
  /** One line for the OpenAPI document. */
  summary?: string;
}

/** A route's answers per status (see `Spec.responses`). */
export type Responses = Record<number, z.ZodType | { mediaType: string | readonly string[]; description: string } | null>;

export interface Input<P, Q, B, E = undefined> {
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
  /** What the route's `alongside` read returned. */
  early: E;
  /** What this request has read so far (the caller's BatchGetItem first). */
  reads: RequestReads;
}

type Issue = z.core.$ZodIssue;
type Located = { path: readonly PropertyKey[]; issue: Issue };

/** A value as a message names it: strings bare, anything else as JSON. */
const named = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const expected = (values: readonly unknown[]) => (values.length === 1 ? `Expected ${named(values[0])}.` : `Expected one of: ${values.map(named).join(', ')}.`);

/** A field the caller did not send: zod reports it as an invalid type, "received undefined". */
const isMissing = (issue: Issue) => issue.code === 'invalid_type' && / received undefined$/.test(issue.message);

/** What to tell the caller about one issue: an enum's or literal's allowed values, DRF's "required", else zod's message. */
function issueMessage(issue: Issue): string {
  if (issue.code === 'invalid_value') return expected(issue.values);
  if (issue.code === 'invalid_union' && !issue.errors.length && 'options' in issue && issue.options?.length) return expected(issue.options);
  if (isMissing(issue)) return 'This field is required.';
  return issue.message;
}

/**
 * Issues with their full paths, a union's replaced by those of the alternative the input fits
 * best: the first of those missing the fewest of their own fields (a field missing deeper down
 * means the input did reach that far into the alternative). So `{action: "nope", …}` against
 * "one check or {checks: [...]}" is told about `action`, not that `checks` is missing, and
 * `{checks: [{action: "nope"}]}` about `checks.0.action`. (zod reports a missing enum field as an
 * invalid option, so only fields of other types count as missing.)
 */
function located(issues: readonly Issue[], prefix: readonly PropertyKey[] = []): Located[] {
  return issues.flatMap((issue): Located[] => {
    const path = [...prefix, ...issue.path];
    if (issue.code !== 'invalid_union' || !issue.errors.length) return [{ path, issue }];
    // A union of literals (`z.literal(1).or(z.literal(null))`): one issue listing them all.
    const only = issue.errors.map((e) => (e.length === 1 && e[0]!.code === 'invalid_value' && !e[0]!.path.length ? e[0]! : undefined));
    if (only.every(Boolean)) return [{ path, issue: { ...issue, code: 'invalid_value', values: only.flatMap((i) => (i as z.core.$ZodIssueInvalidValue).values) } as Issue }];
    const missing = (errors: readonly Issue[]) => errors.filter((i) => i.path.length === 1 && isMissing(i)).length;
    const best = issue.errors.reduce((a, b) => (missing(b) < missing(a) ? b : a));
    return located(best, path);
  });
}

/** zod's issues as DRF's field errors: `{"checks.0.action": ["Expected one of: project.read, …."]}`. */
export const fieldErrors = (error: z.ZodError): FieldErrors => {
  const out: FieldErrors = {};
  for (const { path, issue } of located(error.issues)) {
    const key = path.length ? path.map(String).join('.') : 'non_field_errors';
    const message = issueMessage(issue);
    if (!(out[key] ??= []).includes(message)) out[key].push(message);
  }
  return out;
};

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

/** A body the JSON parser refused (415, 400), answered once the credential has been (401 comes first). */
const bodyErrors = new WeakMap<ApiEvent, Error>();
const deferred = (parser: MiddlewareObj<ApiEvent, ApiResult>): MiddlewareObj<ApiEvent, ApiResult> => ({
  before: async (request) => {
    try {
      await parser.before?.(request);
    } catch (err) {
      bodyErrors.set(request.event, err as Error);
    }
  },
});

const bodyLimit = (): MiddlewareObj<ApiEvent, ApiResult> => ({
  before: ({ event }) => {
    if (event.body && Buffer.byteLength(event.body, event.isBase64Encoded ? 'base64' : 'utf8') > MAX_BODY_BYTES) {
      throw new PayloadTooLargeError(MAX_BODY_BYTES);
    }
  },
});

let verifiers: Verifiers | undefined;
const verifiersOf = (): Verifiers => {
  if (verifiers) return verifiers;
  const cognito = cognitoConfigFromEnv();
  verifiers = { access: async (jwt) => verifyAccessToken(await signingKey(), jwt), cognito: cognito && cognitoVerifier(cognito) };
  return verifiers;
};

const requestOf = (event: ApiEvent) => ({
  ip: event.requestContext.http.sourceIp ?? null,
  user_agent: event.headers['user-agent'] ?? null,
  method: event.requestContext.http.method,
  path: event.rawPath,
  request_id: event.requestContext.requestId,
});

/**
 * Authenticate the request in the route's own function: a Cognito session's first request records
 * its sign-in; a refused credential records a failed authentication (rate-limited per address).
 */
async function authenticateRequest<E>(database: Db, event: ApiEvent, prefetch: Prefetch<E>): Promise<Authenticated<E>> {
  const authorization = event.headers.authorization;
  try {
    const a = await authenticate(database, authorization, verifiersOf(), prefetch);
    const p = a.principal;
    if (p.signIn) await recordSignIn(database, p.signIn.session, p.signIn.expires, { action: 'auth.sign_in', organization: p.orgId, actor_id: p.userId, actor_email: p.email ?? null, ...requestOf(event), status: null });
    return a;
  } catch (err) {
    if (err instanceof AuthenticationError && authorization) {
      logger.info('authentication refused', { reason: err.detail, path: event.rawPath });
      const who = (err as AuthenticationError & { who?: { userId: number; orgId: number; email?: string } }).who;
      const req = requestOf(event);
      await recordSecurityEvent(database, `auth#${req.ip ?? 'unknown'}`, {
        action: 'auth.failed',
        organization: who?.orgId ?? null,
        actor_id: who?.userId ?? null,
        actor_email: who?.email ?? null,
        ...req,
        status: 401,
        detail: err.detail,
      });
    }
    throw err;
  }
}

/**
 * Authentication and validation. The input is parsed first, so that the route's prefetch can name
 * its items from it; a missing or refused credential is answered (401) before a bad input (404, 400).
 */
function validation<P, Q, B, E>(spec: Spec<z.ZodType<P>, z.ZodType<Q>, z.ZodType<B>, E>): MiddlewareObj<ApiEvent, ApiResult, Error, Context & { input: Input<P, Q, B, E> }> {
  return {
    before: async (request) => {
      const { event } = request;
      const mode = spec.auth ?? 'required';
      const params = (spec.params ?? z.object({})).safeParse(event.pathParameters ?? {});
      const query = (spec.query ?? z.object({})).safeParse(event.queryStringParameters ?? {});
      const body = (spec.body ?? z.unknown()).safeParse(event.body);
      let database: Db | undefined;
      const dbOf = () => (database ??= db());
      const reads = new RequestReads();
      let caller: Principal | undefined;
      let early: E | undefined;
      if (mode === 'required' || (mode === 'optional' && event.headers.authorization)) {
        const parsed = params.success && query.success && body.success ? { params: params.data as P, query: query.data as Q, body: body.data as B } : undefined;
        const a = await authenticateRequest(dbOf(), event, {
          keys: parsed && spec.prefetch ? (c) => spec.prefetch!({ ...parsed, ...c }) : undefined,
          alongside: parsed && spec.alongside ? (c) => spec.alongside!(dbOf(), { ...parsed, ...c }) : undefined,
        });
        caller = a.principal;
        early = a.alongside;
        remember(reads, a.read.keys, a.read.items);
      }
      const unparsed = bodyErrors.get(event);
      if (unparsed) throw unparsed;
      if (!params.success) throw new NotFoundError();
      if (!query.success) throw new ValidationError('Validation error', fieldErrors(query.error));
      if (!body.success) throw new ValidationError('Validation error', fieldErrors(body.error));
      const change = requestContext(event, spec, caller);
      // The table is reached only when the route uses it: a route with no table needs no TABLE_NAME.
      request.context.input = { principal: caller as Principal, caller, params: params.data as P, query: query.data as Q, body: body.data as B, event, get db() { return dbOf(); }, change, early: early as E, reads };
    },
  };
}

const json = (statusCode: number, body: unknown): ApiResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** A refused request (403) enters the activity log as a security event, rate-limited per caller. */
async function refused(context: { input?: Input<unknown, unknown, unknown, unknown> }, detail: string): Promise<void> {
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
      if (err.status === 403) await refused(request.context as { input?: Input<unknown, unknown, unknown, unknown> }, err.detail);
      request.response = json(err.status, err.body());
      return;
    }
    logger.error('unhandled error', err);
    request.response = json(500, { detail: 'Internal server error.' });
  },
});

/**
 * Build a Lambda handler for one route: logger → header normalizer → body limit → JSON body parser
 * (when the route takes a body) → authentication and validation (caller, params, query, body) →
 * error handler. The logger is given this invocation's Lambda context first, so every line of the
 * invocation carries it, an authentication refusal's included (not the invocation before's).
 */
export function api<P extends z.ZodType = z.ZodObject, Q extends z.ZodType = z.ZodObject, B extends z.ZodType = z.ZodUnknown, E = undefined>(
  spec: Spec<P, Q, B, E>,
  fn: (input: Input<z.output<P>, z.output<Q>, z.output<B>, E>) => Promise<ApiResult>,
) {
  const chain = middy<ApiEvent, ApiResult, Error, Context & { input: Input<z.output<P>, z.output<Q>, z.output<B>, E> }>()
    .use(injectLambdaContext(logger))
    .use(httpHeaderNormalizer())
    .use(bodyLimit());
  if (spec.body) chain.use(deferred(httpJsonBodyParser()));
  const handler = chain
    .use(validation(spec as unknown as Spec<z.ZodType<z.output<P>>, z.ZodType<z.output<Q>>, z.ZodType<z.output<B>>, E>))
    .use(errorHandler())
    .handler(async (_event, context) => {
      const response = await requestReads.run(context.input.reads, () => withChangeContext(context.input.change, () => fn(context.input)));
      const status = response.statusCode ?? 200;
      // The statuses declared for the activity log are the ones the route answers with.
      const declared = successStatuses(spec, context.input.event.requestContext.http.method);
      if (status < 300 && !declared.includes(status)) logger.warn('route answered other than its declared status', { status, declared });
      return response;
    });
  // The spec stays readable on the handler: the OpenAPI document is generated from it.
  return Object.assign(handler, { spec: spec as Spec<z.ZodType, z.ZodType, z.ZodType> });
}

/** The spec `api()` built a handler from, if it was built by `api()`. */
export const specOf = (handler: unknown): Spec<z.ZodType, z.ZodType, z.ZodType> | undefined =>
  (handler as { spec?: Spec<z.ZodType, z.ZodType, z.ZodType> } | undefined)?.spec;

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

// ---------------------------------------------------------------------------------------------
// The SCIM chain (/scim/v2/): the same middlewares where they fit (logger, header normalizer, body
// limit), its own credential (lib/federation/scim/tokens.ts), bodies in application/scim+json or
// application/json, answers in application/scim+json, failures in RFC 7644's error shape.

export const SCIM_MEDIA = 'application/scim+json';

export interface ScimRouteSpec {
  /** The status the route answers with when its writes commit (default as for api()). */
  status?: number | readonly number[];
}

export interface ScimInput {
  caller: ScimCaller;
  /** Path parameters, as API Gateway decoded them. */
  params: Record<string, string>;
  /** The query string, decoded as a form (`+` is a space, as Entra sends it). */
  query: URLSearchParams;
  /** The parsed JSON body (undefined when none came). */
  body: unknown;
  event: ApiEvent;
  db: Db;
  change: ChangeContext;
  /** This service's SCIM base URL as the client reached it (for `meta.location`). */
  base: string;
}

export const scimJson = (statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResult => ({
  statusCode,
  headers: { 'content-type': SCIM_MEDIA, ...headers },
  body: JSON.stringify(body),
});

/** JSON bodies in application/scim+json or application/json (or with no content type): parsed; anything else 415. */
function scimBody(event: ApiEvent): unknown {
  if (!event.body) return undefined;
  const type = (event.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type && type !== SCIM_MEDIA && type !== 'application/json') throw new ScimError(415, `Unsupported media type ${type}; send ${SCIM_MEDIA} or application/json.`);
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw new ScimError(400, 'The body is not valid JSON.', 'invalidSyntax');
  }
}

const scimErrors = (): MiddlewareObj<ApiEvent, ApiResult> => ({
  onError: async (request) => {
    const err = request.error as Error;
    if (err instanceof DomainError) {
      if (err.status >= 500) logger.error('SCIM request failed', err);
      request.response = scimJson(err.status, scimErrorBody(err), err.status === 401 ? { 'www-authenticate': 'Bearer realm="scim"' } : {});
      return;
    }
    logger.error('unhandled error', err);
    request.response = scimJson(500, scimErrorBody(new DomainError(500, 'Internal server error.')));
  },
});

/**
 * Build the Lambda handler of one /scim/v2/ route: logger → header normalizer → body limit →
 * SCIM authentication (401 before anything about the body) → body → the route, inside the change
 * context of source `scim` → SCIM errors.
 */
export function scim(spec: ScimRouteSpec, fn: (input: ScimInput) => Promise<ApiResult>) {
  return middy<ApiEvent, ApiResult>()
    .use(injectLambdaContext(logger))
    .use(httpHeaderNormalizer())
    .use(bodyLimit())
    .use(scimErrors())
    .handler(async (event) => {
      const database = db();
      const caller = await authenticateScim(database, event.headers.authorization).catch(async (err: unknown) => {
        // As on /api: a refused credential is a security event, rate-limited per address.
        if (err instanceof AuthenticationError && event.headers.authorization) {
          const req = requestOf(event);
          await recordSecurityEvent(database, `auth#${req.ip ?? 'unknown'}`, { action: 'auth.failed', organization: null, actor_id: null, actor_email: null, ...req, status: 401, detail: err.detail });
        }
        throw err;
      });
      const body = scimBody(event);
      const method = event.requestContext.http.method;
      const change: ChangeContext = {
        source: 'scim',
        status: successStatuses(spec, method)[0],
        organization: caller.orgId,
        ...(caller.owner ? { actor_id: caller.owner.userId, actor_email: caller.owner.email } : {}),
        request_id: event.requestContext.requestId,
        ip: event.requestContext.http.sourceIp,
        user_agent: event.headers['user-agent'],
        method,
        path: event.rawPath,
      };
      const base = `${apiBase(event)}${event.rawPath.slice(0, event.rawPath.indexOf('/scim/v2') + '/scim/v2'.length)}`;
      const input: ScimInput = { caller, params: (event.pathParameters ?? {}) as Record<string, string>, query: new URLSearchParams(event.rawQueryString ?? ''), body, event, db: database, change, base };
      return requestReads.run(new RequestReads(), () => withChangeContext(change, () => fn(input)));
    });
}
