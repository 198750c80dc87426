/**
 * Roster's OpenAPI 3.1 document, generated from the route table (functions/routes.ts) and the zod
 * schemas each route's `api()` spec holds: its params, query and body (what the handler validates
 * with, as input) and its responses (functions/schemas.ts). Nothing here describes a route by hand.
 */
import { z } from 'zod';
import { type Responses, type Spec, specOf } from '../http.js';
import { type Route, handlerRef, routes } from '../routes.js';
import { ErrorBody, ValidationErrorBody, components } from '../schemas.js';

type Json = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: Json;
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; securitySchemes: Json };
  [key: string]: unknown;
}

const REF = '#/components/schemas/';

/** A zod schema as JSON Schema 2020-12; shared schemas (those with an id) are hoisted into `defs`. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output', defs: Record<string, Json>): Json {
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io, metadata: components, unrepresentable: 'any' }) as Json;
  const text = JSON.stringify(out).replaceAll('"#/$defs/', `"${REF}`);
  const { $schema: _s, $defs, ...rest } = JSON.parse(text) as Json & { $defs?: Record<string, Json> };
  for (const [name, def] of Object.entries($defs ?? {})) defs[name] = def;
  return rest;
}

/** The path parameters and query parameters of a route, from its `params` and `query` objects. */
function parameters(spec: Spec<z.ZodType, z.ZodType, z.ZodType>, defs: Record<string, Json>): Json[] {
  const out: Json[] = [];
  for (const [where, schema] of [['path', spec.params], ['query', spec.query]] as const) {
    if (!schema) continue;
    const s = jsonSchema(schema, 'input', defs) as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, p] of Object.entries(s.properties ?? {})) {
      const { description, ...rest } = p;
      out.push({ name, in: where, required: where === 'path' || (s.required ?? []).includes(name), schema: rest, ...(description ? { description } : {}) });
    }
  }
  return out;
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted (running as a job)', 204: 'No content' };

function successResponses(responses: Responses, defs: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [status, body] of Object.entries(responses)) {
    const description = STATUS_TEXT[Number(status)] ?? 'Success';
    if (body === null) out[status] = { description };
    else if (body instanceof z.ZodType) out[status] = { description, content: { 'application/json': { schema: jsonSchema(body, 'output', defs) } } };
    else {
      const types = typeof body.mediaType === 'string' ? [body.mediaType] : body.mediaType;
      out[status] = { description: `${description}: ${body.description}`, content: Object.fromEntries(types.map((t) => [t, { schema: { type: t.includes('json') ? 'object' : 'string' } }])) };
    }
  }
  return out;
}

const errorResponse = (description: string, name: string) => ({ description, content: { 'application/json': { schema: { $ref: `${REF}${name}` } } } });

/** The failures every route may answer, in LSE's shapes (no route documents a 500: one is a bug). */
function errorResponses(spec: Spec<z.ZodType, z.ZodType, z.ZodType>): Record<string, Json> {
  return {
    ...(spec.query || spec.body ? { 400: errorResponse('Invalid input: the messages per field', 'ValidationError') } : {}),
    ...((spec.auth ?? 'required') !== 'none' ? { 401: errorResponse('No credentials, or bad ones', 'Error') } : {}),
    '4XX': errorResponse('Refused (403), not found (404), not allowed (405), conflicting (409), too large (413), not JSON (415)', 'ValidationError'),
    503: errorResponse('A service Roster needs is not configured or not reachable', 'Error'),
  };
}

const security = (auth: Spec<z.ZodType, z.ZodType, z.ZodType>['auth']) => {
  const schemes = [{ Token: [] }, { Bearer: [] }];
  if (auth === 'none') return [];
  return auth === 'optional' ? [{}, ...schemes] : schemes;
};

/** OpenAPI's path template: the route's path as LSE spells it (with its trailing slash). */
const operationId = (route: Route) =>
  `${route.method.toLowerCase()}_${route.path.replace(/^\/api\//, '').replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+/g, '_').replace(/_$/, '')}`;

/** The routes this document describes: all but the SCIM protocol (/scim/v2/), which its own discovery endpoints describe (RFC 7644 §4). */
export const documented = (route: Route) => !route.path.startsWith('/scim/');

/** Find the `api()` spec of a route's handler, or say which route has none. */
function routeSpec(route: Route, modules: Record<string, Record<string, unknown>>): Spec<z.ZodType, z.ZodType, z.ZodType> {
  const ref = handlerRef(route.handler);
  const module = modules[ref.module];
  if (!module) throw new Error(`OpenAPI: ${route.method} ${route.path}: module ${ref.module} is not in functions/openapi/modules.ts`);
  const spec = specOf(module[ref.export]);
  if (!spec) throw new Error(`OpenAPI: ${route.method} ${route.path}: ${route.handler} is not built with api()`);
  if (!spec.responses) throw new Error(`OpenAPI: ${route.method} ${route.path}: ${route.handler} declares no responses`);
  return spec;
}

/** The document for the given route table and handler modules (module path → its exports). */
export function openApiDocument(modules: Record<string, Record<string, unknown>>, table: readonly Route[] = routes): OpenApiDocument {
  const defs: Record<string, Json> = {};
  // The error shapes are referenced by every operation.
  jsonSchema(z.array(z.union([ErrorBody, ValidationErrorBody])), 'output', defs);
  const paths: OpenApiDocument['paths'] = {};
  for (const route of table) {
    if (!documented(route)) continue;
    const spec = routeSpec(route, modules);
    const op: Json = {
      operationId: operationId(route),
      tags: [route.path.split('/')[2]],
      ...(spec.summary ? { summary: spec.summary } : {}),
      security: security(spec.auth),
    };
    const params = parameters(spec, defs);
    if (params.length) op.parameters = params;
    if (spec.body) op.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(spec.body, 'input', defs) } } };
    op.responses = { ...successResponses(spec.responses!, defs), ...errorResponses(spec) };
    (paths[route.path] ??= {})[route.method.toLowerCase()] = op;
  }
  const sorted = Object.fromEntries(Object.entries(defs).sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Roster',
      version: '0.1.0',
      description:
        'User management for a data-labeling platform, compatible with Label Studio Enterprise\'s API. Generated from Roster\'s route table and the zod schemas its handlers validate with.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: sorted,
      securitySchemes: {
        Token: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'A legacy token: `Authorization: Token <token>`.' },
        Bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /api/token/refresh/, or a Cognito session.' },
      },
    },
  };
}
