import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { type ApiResult, api, apiBase, ok, routed } from '../http.js';
import { type OpenApiDocument, openApiDocument } from './document.js';
import { modules } from './modules.js';

let doc: OpenApiDocument | undefined;
/** The document, generated once per instance from the route table and the handlers' specs. */
export const document = (): OpenApiDocument => (doc ??= openApiDocument({ ...modules, 'openapi/index': { schema, docs, asset } }));

const raw = (mediaType: string, description: string) => ({ mediaType, description });

/** GET /api/schema/: Roster's OpenAPI 3.1 document (no credentials needed). */
export const schema = api(
  { auth: 'none', summary: "Roster's OpenAPI 3.1 document", responses: { 200: raw('application/json', 'the OpenAPI 3.1 document') } },
  async ({ event }) => ok({ ...document(), servers: [{ url: apiBase(event) }] }),
);

/** Swagger UI's files, served by Roster itself (no CDN), and the script that starts it. */
const ASSETS = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'init.js': 'text/javascript; charset=utf-8',
} as const;
type Asset = keyof typeof ASSETS;

// validatorUrl null: Swagger UI would otherwise ask a public validator about the document.
const INIT = "window.ui = SwaggerUIBundle({ url: '/api/schema/', dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null });\n";

const cache = new Map<Asset, string>();
/**
 * A swagger-ui-dist file: read from the installed package locally; in Lambda, where there is no
 * node_modules, the copy esbuild bundled into the function as text.
 */
async function load(name: Asset): Promise<string> {
  if (name === 'init.js') return INIT;
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  let text: string;
  try {
    const dir = (await import('swagger-ui-dist/absolute-path.js')).default();
    text = await readFile(join(dir, name), 'utf8');
  } catch {
    text =
      name === 'swagger-ui-bundle.js'
        ? (await import('swagger-ui-dist/swagger-ui-bundle.js', { with: { type: 'text' } })).default
        : (await import('swagger-ui-dist/swagger-ui.css', { with: { type: 'text' } })).default;
  }
  cache.set(name, text);
  return text;
}

/** No third party: the page may load only what Roster serves. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Roster API reference</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
`;

const text = (contentType: string, body: string, cacheable = false): ApiResult => ({
  statusCode: 200,
  headers: { 'content-type': contentType, 'content-security-policy': CSP, ...(cacheable ? { 'cache-control': 'public, max-age=86400' } : {}) },
  body,
});

/** GET /api/docs/: the browsable reference (Swagger UI over /api/schema/). */
export const docs = api({ auth: 'none', summary: 'The browsable API reference (Swagger UI)', responses: { 200: raw('text/html', 'the reference page') } }, async () =>
  text('text/html; charset=utf-8', PAGE),
);

/** GET /api/docs/{asset}: the page's script and stylesheet. */
export const asset = api(
  {
    auth: 'none',
    summary: "The reference page's script and stylesheet",
    params: z.object({ asset: z.enum(Object.keys(ASSETS) as [Asset, ...Asset[]]) }),
    responses: { 200: raw('text/*', 'JavaScript or CSS') },
  },
  async ({ params }) => text(ASSETS[params.asset], await load(params.asset), true),
);

/** The Lambda handler of this module's routes (see functions/routes.ts). */
export const handler = routed('openapi/index', { asset, docs, schema });
