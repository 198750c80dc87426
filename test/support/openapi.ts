import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { OpenApiDocument } from '../../functions/openapi/document.js';
import { routePattern } from '../../functions/routes.js';

type Json = Record<string, any>;

/** JSON pointer segment, in a URI fragment. */
const segment = (s: string) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'));

export interface Reply {
  status: number;
  contentType: string | null;
  /** The parsed JSON body, the text of another body, or undefined when there was none. */
  body: unknown;
}

/**
 * Checks replies against Roster's OpenAPI document: the operation is found by method and path
 * (as API Gateway matches them), the response by status (exact, then `4XX`-style, then `default`),
 * and the body against its schema. Returns what does not match (nothing when the reply does).
 */
export function documentValidator(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema(doc, 'roster');
  const templates = Object.keys(doc.paths).map((t) => ({ template: t, re: routePattern(t).re }));

  return function mismatches(method: string, url: string, reply: Reply): string[] {
    const path = url.split('?')[0]!;
    const where = `${method} ${path} → ${reply.status}`;
    const found = templates.filter((t) => t.re.test(path));
    // Exact segments win over a {param} in the same place (as API Gateway routes them).
    const match = found.sort((a, b) => b.template.replace(/\{\w+\}/g, '').length - a.template.replace(/\{\w+\}/g, '').length).find((t) => doc.paths[t.template]![method.toLowerCase()]);
    let pointer: string;
    let responses: Json;
    if (!match) {
      // No operation (API Gateway's $default route): Roster's 404 or 405, in LSE's error shape.
      if (reply.status !== 404 && reply.status !== 405) return [`${where}: no operation in the document, and not a 404/405`];
      responses = { [reply.status]: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } };
      pointer = '';
    } else {
      const op = doc.paths[match.template]![method.toLowerCase()] as Json;
      responses = op.responses;
      pointer = `/paths/${segment(match.template)}/${method.toLowerCase()}/responses`;
    }
    const key = [String(reply.status), `${String(reply.status)[0]}XX`, 'default'].find((k) => k in responses);
    if (!key) return [`${where}: status not documented (documented: ${Object.keys(responses).join(', ')})`];
    const content = responses[key].content as Record<string, Json> | undefined;
    if (!content) return reply.body === undefined || reply.body === '' ? [] : [`${where}: documented without a body, but one came`];
    const type = (reply.contentType ?? '').split(';')[0]!.trim();
    const media = Object.keys(content).find((m) => m === type || (m.endsWith('/*') && type.startsWith(m.slice(0, -1))));
    if (!media) return [`${where}: content-type ${type || '(none)'} not documented (documented: ${Object.keys(content).join(', ')})`];
    if (!media.includes('json')) return typeof reply.body === 'string' ? [] : [`${where}: expected a ${media} body`];
    const validate = pointer
      ? ajv.getSchema(`roster#${pointer}/${segment(key)}/content/${segment(media)}/schema`)
      : ajv.getSchema('roster#/components/schemas/Error');
    if (!validate) return [`${where}: schema not found in the document`];
    if (validate(reply.body)) return [];
    return (validate.errors ?? []).slice(0, 10).map((e) => `${where}: body${e.instancePath} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${e.params.additionalProperty})` : ''}`);
  };
}
