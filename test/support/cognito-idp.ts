/**
 * A user pool's IdP and app-client API over Cognito's own wire protocol (AWS JSON 1.1, X-Amz-Target
 * AWSCognitoIdentityProviderService.<Op>), for tests of Roster's calls through the real SDK. It keeps
 * what AWS documents: UpdateIdentityProvider changes only what it is given; UpdateUserPoolClient sets
 * every field it is not given to its default; IdP identifiers are unique in the pool; a client names
 * only providers that exist; errors carry Cognito's exception names.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

type Rec = Record<string, any>;

const CLIENT_FIELDS = [
  'ClientName', 'RefreshTokenValidity', 'AccessTokenValidity', 'IdTokenValidity', 'TokenValidityUnits', 'ReadAttributes', 'WriteAttributes',
  'ExplicitAuthFlows', 'SupportedIdentityProviders', 'CallbackURLs', 'LogoutURLs', 'DefaultRedirectURI', 'AllowedOAuthFlows', 'AllowedOAuthScopes',
  'AllowedOAuthFlowsUserPoolClient', 'AnalyticsConfiguration', 'PreventUserExistenceErrors', 'EnableTokenRevocation',
  'EnablePropagateAdditionalUserContextData', 'AuthSessionValidity', 'RefreshTokenRotation',
];

class Fault extends Error {
  constructor(readonly type: string, message: string) {
    super(message);
  }
}

export interface IdpStandIn {
  endpoint: string;
  userPoolId: string;
  clientId: string;
  providers: Map<string, Rec>;
  clients: Map<string, Rec>;
  calls: string[];
  /** Fail the next `times` calls of this operation with this exception (the SDK retries throttling-class ones). */
  failNext(op: string, type: string, message?: string, times?: number): void;
  /** Pause every DescribeUserPoolClient answer (lets concurrent saves interleave). */
  describeDelayMs: number;
  stop(): Promise<void>;
}

export async function startIdpStandIn(client: Rec = {}): Promise<IdpStandIn> {
  const userPoolId = 'us-east-1_TestPool1';
  const clientId = 'ssoclient0000000000000000a';
  const providers = new Map<string, Rec>();
  const clients = new Map<string, Rec>([
    [clientId, {
      UserPoolId: userPoolId, ClientId: clientId, ClientName: 'sso', AllowedOAuthFlows: ['code'], AllowedOAuthScopes: ['openid', 'email', 'profile'],
      AllowedOAuthFlowsUserPoolClient: true, CallbackURLs: ['https://app.acme.example/sso/callback'], SupportedIdentityProviders: ['COGNITO'],
      ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'], EnableTokenRevocation: true, AccessTokenValidity: 60, TokenValidityUnits: { AccessToken: 'minutes' },
      CreationDate: 1_700_000_000, LastModifiedDate: 1_700_000_000, ...client,
    }],
  ]);
  const calls: string[] = [];
  const failures = new Map<string, { type: string; message: string; times: number }>();
  const state = { describeDelayMs: 0 };

  const need = (b: Rec, f: string) => {
    if (b[f] === undefined) throw new Fault('InvalidParameterException', `1 validation error detected: Value null at '${f}' failed to satisfy constraint: Member must not be null`);
    return b[f];
  };
  const pool = (b: Rec) => {
    if (need(b, 'UserPoolId') !== userPoolId) throw new Fault('ResourceNotFoundException', 'User pool does not exist.');
  };
  const identifiersFree = (name: string, ids: string[] | undefined) => {
    for (const id of ids ?? []) {
      if (id.length < 1 || id.length > 40) throw new Fault('InvalidParameterException', `IdpIdentifier ${id} must be 1-40 characters.`);
      for (const [n, p] of providers) if (n !== name && (p.IdpIdentifiers ?? []).includes(id)) throw new Fault('DuplicateProviderException', `Duplicate identifier ${id}.`);
    }
    if ((ids ?? []).length > 50) throw new Fault('InvalidParameterException', 'At most 50 IdpIdentifiers.');
  };
  const details = (d: Rec) => {
    if (!d.MetadataURL && !d.MetadataFile) throw new Fault('InvalidParameterException', 'MetadataURL or MetadataFile is required for SAML.');
    return d;
  };

  const ops: Record<string, (b: Rec) => Promise<Rec> | Rec> = {
    CreateIdentityProvider: (b) => {
      pool(b);
      const name = need(b, 'ProviderName');
      if (providers.has(name)) throw new Fault('DuplicateProviderException', `A provider with the name ${name} already exists.`);
      identifiersFree(name, b.IdpIdentifiers);
      const p = { UserPoolId: userPoolId, ProviderName: name, ProviderType: need(b, 'ProviderType'), ProviderDetails: details(need(b, 'ProviderDetails')), AttributeMapping: b.AttributeMapping ?? {}, IdpIdentifiers: b.IdpIdentifiers ?? [] };
      providers.set(name, p);
      return { IdentityProvider: p };
    },
    UpdateIdentityProvider: (b) => {
      pool(b);
      const p = providers.get(need(b, 'ProviderName'));
      if (!p) throw new Fault('ResourceNotFoundException', 'Identity provider does not exist.');
      if (b.IdpIdentifiers) identifiersFree(p.ProviderName, b.IdpIdentifiers);
      if (b.ProviderDetails) p.ProviderDetails = details(b.ProviderDetails);
      if (b.AttributeMapping) p.AttributeMapping = b.AttributeMapping;
      if (b.IdpIdentifiers) p.IdpIdentifiers = b.IdpIdentifiers;
      return { IdentityProvider: p };
    },
    DescribeIdentityProvider: (b) => {
      pool(b);
      const p = providers.get(need(b, 'ProviderName'));
      if (!p) throw new Fault('ResourceNotFoundException', 'Identity provider does not exist.');
      return { IdentityProvider: p };
    },
    DeleteIdentityProvider: (b) => {
      pool(b);
      const name = need(b, 'ProviderName');
      if (!providers.has(name)) throw new Fault('ResourceNotFoundException', 'Identity provider does not exist.');
      for (const c of clients.values()) if ((c.SupportedIdentityProviders ?? []).includes(name)) c.SupportedIdentityProviders = c.SupportedIdentityProviders.filter((n: string) => n !== name);
      providers.delete(name);
      return {};
    },
    DescribeUserPoolClient: async (b) => {
      pool(b);
      const c = clients.get(need(b, 'ClientId'));
      if (!c) throw new Fault('ResourceNotFoundException', 'User pool client does not exist.');
      const copy = structuredClone(c);
      if (state.describeDelayMs) await new Promise((r) => setTimeout(r, state.describeDelayMs));
      return { UserPoolClient: copy };
    },
    UpdateUserPoolClient: (b) => {
      pool(b);
      const c = clients.get(need(b, 'ClientId'));
      if (!c) throw new Fault('ResourceNotFoundException', 'User pool client does not exist.');
      for (const n of b.SupportedIdentityProviders ?? []) if (n !== 'COGNITO' && !providers.has(n)) throw new Fault('InvalidParameterException', `The provider ${n} does not exist for User Pool ${userPoolId}`);
      // Every field not given goes back to its default (absent).
      const next: Rec = { UserPoolId: userPoolId, ClientId: c.ClientId, CreationDate: c.CreationDate, LastModifiedDate: 1_800_000_000 };
      for (const f of CLIENT_FIELDS) if (b[f] !== undefined) next[f] = b[f];
      clients.set(c.ClientId, next);
      return { UserPoolClient: next };
    },
  };

  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', async () => {
      const op = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      calls.push(op);
      const reply = (status: number, body: Rec) => res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body));
      try {
        const f = failures.get(op);
        if (f) {
          if (--f.times <= 0) failures.delete(op);
          throw new Fault(f.type, f.message);
        }
        const handler = ops[op];
        if (!handler) throw new Fault('UnknownOperationException', op);
        reply(200, await handler(JSON.parse(raw || '{}')));
      } catch (err) {
        if (err instanceof Fault) reply(400, { __type: err.type, message: err.message });
        else reply(500, { __type: 'InternalErrorException', message: String(err) });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    userPoolId,
    clientId,
    providers,
    clients,
    calls,
    failNext: (op, type, message = 'refused', times = 1) => void (times > 0 ? failures.set(op, { type, message, times }) : failures.delete(op)),
    get describeDelayMs() {
      return state.describeDelayMs;
    },
    set describeDelayMs(v: number) {
      state.describeDelayMs = v;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
