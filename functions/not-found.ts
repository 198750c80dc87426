import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { routePattern, routes } from './routes.js';

const patterns = routes.map((r) => routePattern(r.path).re);

/** The `$default` route: 405 for a known path with another method (as LSE answers), else 404. */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const known = patterns.some((re) => re.test(event.rawPath));
  const method = event.requestContext.http.method;
  return {
    statusCode: known ? 405 : 404,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ detail: known ? `Method "${method}" not allowed.` : 'Not found.' }),
  };
}
