import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ERROR_URN } from '../lib/federation/scim/errors.js';
import { routePattern, routes } from './routes.js';

const patterns = routes.map((r) => routePattern(r.path).re);

/**
 * The `$default` route: 405 for a known path with another method (as LSE answers), else 404; under
 * /scim/v2/ in SCIM's error shape (RFC 7644 §3.12), as every SCIM answer is.
 */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const known = patterns.some((re) => re.test(event.rawPath));
  const method = event.requestContext.http.method;
  const status = known ? 405 : 404;
  const detail = known ? `Method "${method}" not allowed.` : 'Not found.';
  if (event.rawPath.startsWith('/scim/')) {
    return { statusCode: status, headers: { 'content-type': 'application/scim+json' }, body: JSON.stringify({ schemas: [ERROR_URN], status: String(status), detail }) };
  }
  return { statusCode: status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ detail }) };
}
