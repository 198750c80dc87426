import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { join } from 'node:path';
import { StartupError } from '../dynamodb.js';
import { DevIdp } from './dev-idp.js';
import { type Reply, HostedEndpoints, errorPage, escapeHtml } from './hosted.js';
import { AwsError, type Forward, IdentityProviderApi } from './idp-api.js';
import { acsUrl, spEntityId } from './sp.js';
import { FederationStore } from './store.js';
import type { TriggerConfig } from './triggers.js';

export interface FederationConfig {
  port: number;
  host: string;
  /** Where the stand-in keeps its data (identity providers, client OAuth fields, the dev IdP's key). */
  dataDir: string;
  /** cognito-local's endpoint: every other call goes there. */
  cognitoLocal: string;
  userPoolId: string;
  issuer: string;
  region: string;
  triggers: TriggerConfig;
  /** Roster's API, for the dev callback page's whoami. */
  apiUrl?: () => string | undefined;
}

export interface Federation {
  /** The stand-in's URL: COGNITO_ENDPOINT (AWS JSON API) and the user pool domain (hosted endpoints). */
  url: string;
  ssoClientId: string;
  callbackUrl: string;
  devIdp: { entityId: string; metadataUrl: string };
  stop(): Promise<void>;
}

const TARGET = 'AWSCognitoIdentityProviderService.';
const MAX_BODY = 1024 * 1024;

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => (size > MAX_BODY ? reject(Object.assign(new Error('too large'), { status: 413 })) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

/** A call to cognito-local in the AWS JSON protocol. */
export function forwarder(endpoint: string): Forward {
  return async (op, payload) => {
    const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': TARGET + op }, body: JSON.stringify(payload) });
    const text = await res.text();
    const out = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (!res.ok) throw new AwsError(String(out.__type ?? res.headers.get('x-amzn-errortype') ?? 'InternalErrorException').split('#').pop()!.split(':')[0]!, String(out.message ?? out.Message ?? text), res.status);
    return out;
  };
}

/**
 * The local stand-in for what Cognito has and cognito-local lacks, on one port: the IdP half of
 * the API (in front of cognito-local, which answers the rest), the user pool domain's federation
 * endpoints, the dev IdP (/dev/idp/) and a callback page for the SSO app client (/dev/callback).
 */
export async function startFederation(cfg: FederationConfig): Promise<Federation> {
  mkdirSync(cfg.dataDir, { recursive: true });
  const store = new FederationStore(join(cfg.dataDir, 'federation.json'));
  const forward = forwarder(cfg.cognitoLocal);
  const api = new IdentityProviderApi(store, forward);
  let handlers: { hosted: HostedEndpoints; idp: DevIdp; callback: (q: URLSearchParams) => Promise<Reply> } | undefined;

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error & { status?: number }) => {
      if (err.status !== 413) console.error(err);
      if (!res.headersSent) res.writeHead(err.status ?? 500, { 'content-type': 'text/plain' });
      res.end(err.status === 413 ? 'Request body too large.' : 'Internal error in the local user pool stand-in.');
    });
  });
  // Longer than clients keep idle connections (undici: 4 s), so a client never reuses one this server is closing.
  server.keepAliveTimeout = 65_000;
  const send = (res: ServerResponse, r: Reply) => {
    res.writeHead(r.status, r.headers ?? {});
    res.end(r.body);
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const target = req.headers['x-amz-target'];
    if (method === 'POST' && typeof target === 'string') return send(res, await awsCall(target, await body(req), req));
    if (!handlers) return send(res, errorPage('The local user pool is starting.', 503));
    const form = method === 'POST' ? new URLSearchParams(await body(req)) : url.searchParams;
    const h = handlers;
    if (url.pathname === '/oauth2/authorize' && method === 'GET') return send(res, await h.hosted.authorize(url.searchParams));
    if (url.pathname === '/saml2/idpresponse' && method === 'POST') return send(res, await h.hosted.idpResponse(form));
    if (url.pathname === '/oauth2/token' && method === 'POST') return send(res, await h.hosted.token(form, req.headers.authorization));
    if (url.pathname === '/dev/callback' && method === 'GET') return send(res, await h.callback(url.searchParams));
    if (url.pathname === '/dev/idp' || url.pathname.startsWith('/dev/idp/')) {
      const r = await h.idp.handle(method, url.pathname, form);
      if (r) return send(res, r);
    }
    send(res, { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not found' });
  }

  /** The AWS JSON protocol: the IdP operations here, everything else passed to cognito-local as it came. */
  async function awsCall(target: string, raw: string, req: IncomingMessage): Promise<Reply> {
    const op = target.startsWith(TARGET) ? target.slice(TARGET.length) : '';
    if (api.handles(op)) {
      try {
        const parsed = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
        return { status: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify(await api.call(op, parsed)) };
      } catch (err) {
        if (err instanceof SyntaxError) err = new AwsError('SerializationException', 'The request body is not JSON.');
        if (!(err instanceof AwsError)) throw err;
        return { status: err.status, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': err.type }, body: JSON.stringify({ __type: err.type, message: err.message }) };
      }
    }
    const headers: Record<string, string> = { 'content-type': String(req.headers['content-type'] ?? 'application/x-amz-json-1.1'), 'x-amz-target': target };
    if (req.headers.authorization) headers.authorization = String(req.headers.authorization);
    const upstream = await fetch(cfg.cognitoLocal, { method: 'POST', headers, body: raw });
    const out: Record<string, string> = { 'content-type': upstream.headers.get('content-type') ?? 'application/x-amz-json-1.1' };
    const type = upstream.headers.get('x-amzn-errortype');
    if (type) out['x-amzn-errortype'] = type;
    return { status: upstream.status, headers: out, body: await upstream.text() };
  }

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new StartupError(`Port ${cfg.port} (the local user pool) is in use: set COGNITO_PORT to a free port.`) : err),
    );
    server.listen(cfg.port, cfg.host, () => resolve((server.address() as { port: number }).port));
  });
  const base = `http://${cfg.host === '0.0.0.0' ? '127.0.0.1' : cfg.host}:${port}`;
  const stop = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeIdleConnections();
    });
  try {
    const callbackUrl = `${base}/dev/callback`;
    const ssoClientId = await ensureSsoClient(api, cfg, callbackUrl);
    const idp = new DevIdp({ base, dataDir: cfg.dataDir, acs: acsUrl(base), audience: spEntityId(cfg.userPoolId), clientId: ssoClientId, callbackUrl });
    const hosted = new HostedEndpoints({ store, api, forward, userPoolId: cfg.userPoolId, region: cfg.region, domain: base, issuer: cfg.issuer, triggers: cfg.triggers });
    handlers = { hosted, idp, callback: (q) => callbackPage(q, { base, clientId: ssoClientId, callbackUrl, apiUrl: cfg.apiUrl?.() }) };
    return { url: base, ssoClientId, callbackUrl, devIdp: { entityId: idp.entityId, metadataUrl: idp.metadataUrl }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The SSO app client (authorization-code flow), made once and kept in the data dir; its callback
 * follows this server's port. Changes go through Describe → Update with the whole configuration.
 */
async function ensureSsoClient(api: IdentityProviderApi, cfg: FederationConfig, callbackUrl: string): Promise<string> {
  const file = join(cfg.dataDir, 'sso-client.json');
  const known = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { clientId: string }).clientId : undefined;
  if (known) {
    try {
      const c = (await api.call('DescribeUserPoolClient', { UserPoolId: cfg.userPoolId, ClientId: known })).UserPoolClient as Record<string, unknown>;
      if (!((c.CallbackURLs as string[] | undefined) ?? []).includes(callbackUrl)) {
        const { ClientId, UserPoolId, ClientName, ...rest } = c;
        const writable = Object.fromEntries(Object.entries(rest).filter(([k]) => !['ClientSecret', 'CreationDate', 'LastModifiedDate'].includes(k)));
        await api.call('UpdateUserPoolClient', { ...writable, UserPoolId, ClientId, ClientName, CallbackURLs: [callbackUrl] });
      }
      return known;
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
    }
  }
  const created = await api.call('CreateUserPoolClient', {
    UserPoolId: cfg.userPoolId,
    ClientName: 'roster-sso',
    ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
    AllowedOAuthFlowsUserPoolClient: true,
    AllowedOAuthFlows: ['code'],
    AllowedOAuthScopes: ['openid', 'email', 'profile'],
    CallbackURLs: [callbackUrl],
    SupportedIdentityProviders: ['COGNITO'],
  });
  const clientId = String((created.UserPoolClient as Record<string, unknown>).ClientId);
  writeFileSync(file, JSON.stringify({ clientId }));
  return clientId;
}

/** What an app does at its callback: redeem the code at /oauth2/token, then (here) show the tokens and whoami. */
async function callbackPage(q: URLSearchParams, o: { base: string; clientId: string; callbackUrl: string; apiUrl?: string }): Promise<Reply> {
  const html = (inner: string, status = 200): Reply => ({ status, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }, body: `<!doctype html><html><head><meta charset="utf-8"><title>Roster sign-in</title></head><body style="font:15px system-ui;margin:2em">${inner}</body></html>` });
  if (q.get('error')) return html(`<h1>Sign-in failed</h1><p id="error">${escapeHtml(`${q.get('error')}: ${q.get('error_description') ?? ''}`)}</p>`, 400);
  const code = q.get('code');
  if (!code) return html('<h1>No code</h1><p id="error">The callback got no authorization code.</p>', 400);
  const res = await fetch(`${o.base}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: o.clientId, redirect_uri: o.callbackUrl }),
  });
  const tokens = (await res.json()) as { access_token?: string; error?: string };
  if (!tokens.access_token) return html(`<h1>Token exchange failed</h1><p id="error">${escapeHtml(tokens.error ?? String(res.status))}</p>`, 400);
  let whoami = '(Roster API not known)';
  if (o.apiUrl) {
    const w = await fetch(`${o.apiUrl}/api/current-user/whoami`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    whoami = `${w.status} ${JSON.stringify(await w.json().catch(() => null), null, 2)}`;
  }
  return html(
    `<h1>Signed in</h1><p>Access token (send it as <code>Authorization: Bearer …</code>):</p><pre id="access-token" style="white-space:pre-wrap;word-break:break-all">${escapeHtml(tokens.access_token)}</pre>` +
      `<p>GET /api/current-user/whoami with it:</p><pre id="whoami">${escapeHtml(whoami)}</pre>`,
  );
}
