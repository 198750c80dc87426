/**
 * LSE's OpenAPI definition, read from the shared reference (never copied into the repo). The
 * reference is optional: `ROSTER_LSE_REFERENCE` names the file (default
 * `../shared/reference/lse-openapi-user-management.yaml` beside the checkout). Without it every
 * comparison with LSE's schemas is skipped (and counted: the run's summary names what was
 * skipped and why), while every other assertion of the test still runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll } from 'vitest';
import { parse } from 'yaml';

/** Where the reference is looked for. */
export const LSE_REFERENCE_PATH =
  process.env.ROSTER_LSE_REFERENCE || fileURLToPath(new URL('../../../shared/reference/lse-openapi-user-management.yaml', import.meta.url));

/** Whether LSE's reference is there: the comparisons with it run only then. */
export const lseAvailable = existsSync(LSE_REFERENCE_PATH);

declare module 'vitest' {
  interface TaskMeta {
    /** Comparisons with LSE's schemas this file skipped because the reference is absent. */
    lseSkipped?: number;
  }
}

let skipped = 0;
// The count travels to the reporter on the test file's metadata (test/support/summary-reporter.ts).
afterAll(({}, suite) => {
  if (!lseAvailable) (suite as { meta: { lseSkipped?: number } }).meta.lseSkipped = skipped;
});

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

/** LSE's document (OpenAPI 3.0 as parsed), when the reference is present. */
export const lseDocument: { components: { schemas: Record<string, { enum?: unknown[] } & Record<string, unknown>> }; paths: Record<string, unknown> } | undefined = lseAvailable
  ? parse(readFileSync(LSE_REFERENCE_PATH, 'utf8'))
  : undefined;

const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
(addFormats as unknown as (a: Ajv) => void)(ajv);
if (lseDocument) ajv.addSchema({ ...lseDocument, components: toJsonSchema(lseDocument.components) }, 'lse');

/**
 * Validate a response body against one of LSE's component schemas; returns the errors, if any.
 * Without the reference: none (the comparison is skipped and counted).
 */
export function lseErrors(schema: string, body: unknown): string[] {
  if (!lseAvailable) {
    skipped++;
    return [];
  }
  const validate = ajv.getSchema(`lse#/components/schemas/${schema}`);
  if (!validate) throw new Error(`LSE schema ${schema} not found`);
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** Validate an array body whose items follow one LSE schema. */
export const lseListErrors = (schema: string, body: unknown[]) => {
  if (!lseAvailable) {
    skipped++;
    return [];
  }
  return body.flatMap((item, i) => lseErrors(schema, item).map((e) => `[${i}]${e}`));
};

/** The values of one of LSE's enum schemas (reference present only). */
export function lseEnum(name: string): unknown[] {
  const values = lseDocument?.components.schemas[name]?.enum;
  if (!values) throw new Error(`LSE enum ${name} not found`);
  return values;
}
