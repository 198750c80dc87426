import { JwtRsaVerifier } from 'aws-jwt-verify';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { AuthenticationError } from '../core/errors.js';
import { hashToken } from '../core/util.js';

export interface CognitoConfig {
  userPoolId: string;
  clientId: string;
  /** The SSO app client (managed login, SAML federation): its tokens are accepted too. */
  ssoClientId?: string;
  /** Token issuer: https://cognito-idp.<region>.amazonaws.com/<pool> in AWS; cognito-local's URL locally. */
  issuer: string;
}

export function cognitoConfigFromEnv(env = process.env): CognitoConfig | undefined {
  const userPoolId = env.COGNITO_USER_POOL_ID;
  const clientId = env.COGNITO_CLIENT_ID;
  if (!userPoolId || !clientId) return undefined;
  const region = env.AWS_REGION ?? 'us-east-1';
  const ssoClientId = env.COGNITO_SSO_CLIENT_ID || undefined;
  return { userPoolId, clientId, ...(ssoClientId ? { ssoClientId } : {}), issuer: env.COGNITO_ISSUER ?? `https://cognito-idp.${region}.amazonaws.com/${userPoolId}` };
}

/**
 * Verifies Cognito access tokens with aws-jwt-verify against the pool's JWKS: signature, issuer,
 * expiry, token_use "access" and the app client id (the API client or the SSO client). Returns whom
 * the token names: the Cognito username, which is the user's lower-case email, or for a person
 * federated through an organization's IdP (username `<provider>_<NameID>`) the `email` claim
 * Roster's pre-token-generation trigger put in the token. Roles never come from the token.
 */
export function cognitoVerifier(cfg: CognitoConfig) {
  const verifier = JwtRsaVerifier.create(
    {
      issuer: cfg.issuer,
      audience: null,
      jwksUri: `${cfg.issuer}/.well-known/jwks.json`,
      customJwtCheck: ({ payload }) => {
        if (payload.token_use !== 'access') throw new Error('not an access token');
        if (payload.client_id !== cfg.clientId && (!cfg.ssoClientId || payload.client_id !== cfg.ssoClientId)) throw new Error('wrong client');
      },
    },
    // aws-jwt-verify fetches over HTTPS only; the local user pool (cognito-local) serves its JWKS over HTTP.
    cfg.issuer.startsWith('http://') ? { jwksCache: new SimpleJwksCache({ fetcher: { fetch: async (uri) => (await fetch(uri)).arrayBuffer() } }) } : undefined,
  );
  return async (jwt: string): Promise<{ username: string; session: string; expires: number; orgId?: number }> => {
    try {
      const payload = await verifier.verify(jwt);
      // Cognito's access tokens carry no email of their own: only Roster's trigger adds one (federated users).
      const username = typeof payload.email === 'string' ? payload.email : (payload.username ?? payload['cognito:username']);
      if (typeof username !== 'string') throw new Error('no username');
      // One sign-in is one session: Cognito's origin_jti (shared by refreshed tokens), else the token itself.
      const session = String(payload.origin_jti ?? payload.jti ?? hashToken(jwt).slice(0, 32));
      // A SAML session is bound to the organization whose IdP signed the person in (Roster's trigger says which).
      const org = payload.roster_org === undefined ? undefined : Number(payload.roster_org);
      if (org !== undefined && !(Number.isSafeInteger(org) && org > 0)) throw new Error('bad organization claim');
      return { username: username.toLowerCase(), session, expires: payload.exp ?? Math.floor(Date.now() / 1000) + 3600, ...(org ? { orgId: org } : {}) };
    } catch {
      throw new AuthenticationError('Given token not valid for any token type');
    }
  };
}
