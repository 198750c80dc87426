/** LSE's JWT settings: which token kinds work in the organization, and the PAT lifetime. */
export interface TokenPolicy {
  api_tokens_enabled: boolean;
  legacy_api_tokens_enabled: boolean;
  api_token_ttl_days: number;
}

export const DEFAULT_TOKEN_POLICY: TokenPolicy = { api_tokens_enabled: true, legacy_api_tokens_enabled: true, api_token_ttl_days: 30 };

export const tokenPolicyOf = (org: { token_policy?: Partial<TokenPolicy> | null }): TokenPolicy => ({ ...DEFAULT_TOKEN_POLICY, ...org.token_policy });
