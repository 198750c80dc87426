import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** What Cognito keeps for a SAML (or other) identity provider, as DescribeIdentityProvider answers it. */
export interface StoredProvider {
  UserPoolId: string;
  ProviderName: string;
  ProviderType: string;
  ProviderDetails: Record<string, string>;
  AttributeMapping: Record<string, string>;
  IdpIdentifiers: string[];
  CreationDate: number;
  LastModifiedDate: number;
  /** Parsed from the metadata at create/update (Cognito fetches a MetadataURL then, and refreshes it). */
  metadata?: { entityId: string; certs: string[]; ssoRedirect?: string; ssoPost?: string; sloRedirect?: string };
}

export interface AuthSession {
  provider: string;
  clientId: string;
  redirectUri: string;
  state?: string;
  scopes: string[];
  /** PKCE (S256) and OpenID Connect's nonce, as the client sent them to /oauth2/authorize. */
  codeChallenge?: string;
  nonce?: string;
  /** The AuthnRequest's ID (SP-initiated); a response must answer this one. */
  requestId?: string;
  expires: number;
}

export interface IssuedCode {
  clientId: string;
  redirectUri: string;
  codeChallenge?: string;
  tokens: { access_token: string; id_token: string; refresh_token: string; expires_in: number };
  expires: number;
}

interface Data {
  providers: Record<string, StoredProvider>;
  /** Per app client: the writable fields Cognito keeps that cognito-local does not (see idp-api.ts). */
  clients: Record<string, Record<string, unknown>>;
  /** AuthnRequest ids → issued at (node-saml's cache provider). */
  requests: Record<string, { value: string; createdAt: number }>;
  sessions: Record<string, AuthSession>;
  /** Assertion ids already used → when they may be forgotten (their NotOnOrAfter). */
  assertions: Record<string, number>;
}

/**
 * The stand-in's state in one JSON file under the local data dir (written whole, atomically, after
 * each change). One process owns it; every change runs synchronously between reads, so no locking.
 */
export class FederationStore {
  readonly data: Data;
  constructor(private readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    const empty: Data = { providers: {}, clients: {}, requests: {}, sessions: {}, assertions: {} };
    this.data = existsSync(file) ? { ...empty, ...(JSON.parse(readFileSync(file, 'utf8')) as Partial<Data>) } : empty;
  }

  /** Apply a change and write the file. */
  change<T>(fn: (d: Data) => T): T {
    const out = fn(this.data);
    this.prune();
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data));
    renameSync(tmp, this.file);
    return out;
  }

  private prune() {
    const now = Date.now();
    const d = this.data;
    for (const [k, v] of Object.entries(d.sessions)) if (v.expires < now) delete d.sessions[k];
    for (const [k, v] of Object.entries(d.assertions)) if (v < now) delete d.assertions[k];
    for (const [k, v] of Object.entries(d.requests)) if (v.createdAt + REQUEST_TTL_MS < now) delete d.requests[k];
  }

  static providerKey = (pool: string, name: string) => `${pool}/${name}`;
  providers(pool: string): StoredProvider[] {
    return Object.values(this.data.providers).filter((p) => p.UserPoolId === pool);
  }
  provider(pool: string, name: string): StoredProvider | undefined {
    return this.data.providers[FederationStore.providerKey(pool, name)];
  }

  /** node-saml's CacheProvider (AuthnRequest ids for InResponseTo), kept in the same file. */
  cacheProvider() {
    return {
      saveAsync: async (key: string, value: string) => this.change((d) => (d.requests[key] = { value, createdAt: Date.now() })),
      getAsync: async (key: string) => {
        const hit = this.data.requests[key];
        return hit && hit.createdAt + REQUEST_TTL_MS > Date.now() ? hit.value : null;
      },
      removeAsync: async (key: string | null) => {
        if (!key || !this.data.requests[key]) return null;
        const value = this.data.requests[key]!.value;
        this.change((d) => delete d.requests[key]);
        return value;
      },
    };
  }
}

/** Cognito's authentication sessions (the time to come back from the IdP) last 5 minutes. */
export const REQUEST_TTL_MS = 5 * 60_000;
