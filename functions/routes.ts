/**
 * Every HTTP route, declared once. CDK builds the API and one function per route from this table,
 * and the local runtime serves the same table with the same handler modules.
 */
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Route {
  method: Method;
  /** API Gateway route path, LSE's spelling (including its trailing slashes). */
  path: string;
  /** Handler module under functions/, without extension; it exports `handler`. */
  handler: string;
  /** The table access the handler needs: its function gets exactly this grant. */
  table: 'read' | 'readwrite';
}

export const routes: readonly Route[] = [
  { method: 'GET', path: '/api/current-user/whoami', handler: 'current-user/whoami', table: 'read' },
  { method: 'GET', path: '/api/organizations/', handler: 'organizations/list', table: 'read' },
  { method: 'GET', path: '/api/organizations/{id}', handler: 'organizations/get', table: 'read' },
  { method: 'GET', path: '/api/organizations/{id}/memberships', handler: 'organizations/memberships-list', table: 'read' },
  { method: 'PATCH', path: '/api/organizations/{id}/memberships', handler: 'organizations/memberships-patch', table: 'readwrite' },
  { method: 'POST', path: '/api/users/', handler: 'users/create', table: 'readwrite' },
];

/**
 * The path API Gateway is given: HTTP API routes cannot end in "/", and API Gateway matches a
 * request with or without its trailing slash to the same route (the local runtime does the same).
 */
export const gatewayPath = (path: string) => (path.length > 1 ? path.replace(/\/+$/, '') : path);

/** How API Gateway matches a route: exact segments, `{name}` for one segment, trailing slash optional. */
export function routePattern(path: string): { re: RegExp; params: string[] } {
  const params: string[] = [];
  const source = gatewayPath(path)
    .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
    .replace(/\{(\w+)\}/g, (_, name: string) => {
      params.push(name);
      return '([^/]+)';
    });
  return { re: new RegExp(`^${source}/?$`), params };
}

/** The Lambda authorizer in front of every route. */
export const authorizer = { handler: 'authorizer', table: 'read' } as const;

/** API Gateway's `$default` route: requests that match no route. */
export const fallback = { handler: 'not-found', table: 'none' } as const;

/** The consumer of the table's stream. */
export const streamConsumer = { handler: 'stream/consumer', table: 'none' } as const;
