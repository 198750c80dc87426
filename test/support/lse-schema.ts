import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { ROLE_SOURCES } from '../../lib/core/roles.js';

/** LSE's OpenAPI definition, read from the shared reference (never copied into the repo). */
const path = fileURLToPath(new URL('../../../shared/reference/lse-openapi-user-management.yaml', import.meta.url));
const doc = parse(readFileSync(path, 'utf8'));

// Roster records the role sources SPEC §2 names (adding `invite` and `system` to LSE's list).
const sources = doc.components.schemas.RoleSourceEnum;
sources.enum = [...new Set([...sources.enum, ...ROLE_SOURCES])];

/** OpenAPI 3.0's `nullable` as JSON Schema: a null alternative (Ajv only accepts it beside a `type`). */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const { nullable, ...rest } = node as Record<string, unknown>;
  const out = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, toJsonSchema(v)]));
  if (nullable !== true) return out;
  if (typeof out.type === 'string' && !out.allOf && !out.$ref) {
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
    return { ...out, type: [out.type, 'null'] };
  }
  return Object.keys(out).some((k) => ['type', 'allOf', '$ref', 'items', 'properties', 'enum'].includes(k)) ? { anyOf: [out, { type: 'null' }] } : out;
}
doc.components = toJsonSchema(doc.components);

const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
(addFormats as unknown as (a: Ajv) => void)(ajv);
ajv.addSchema(doc, 'lse');

/** Validate a response body against one of LSE's component schemas; returns the errors, if any. */
export function lseErrors(schema: string, body: unknown): string[] {
  const validate = ajv.getSchema(`lse#/components/schemas/${schema}`);
  if (!validate) throw new Error(`LSE schema ${schema} not found`);
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** Validate an array body whose items follow one LSE schema. */
export const lseListErrors = (schema: string, body: unknown[]) => body.flatMap((item, i) => lseErrors(schema, item).map((e) => `[${i}]${e}`));
