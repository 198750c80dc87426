/**
 * IdP presets (LSE's `idp_provider`): each sets the SAML attribute names the IdP sends, so an
 * administrator picking "Okta" need not type them. Names as LSE's defaults (SPEC §7); the Entra ID
 * claim URIs are Microsoft's; Auth0's are its SAML add-on's defaults; PingOne's are the attribute
 * names its SAML application templates suggest.
 */
export interface AttributeNames {
  mapping_email: string;
  mapping_first_name: string;
  mapping_last_name: string;
  mapping_groups: string;
}

const WS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';

export const PRESETS = {
  custom: { mapping_email: 'Email', mapping_first_name: 'FirstName', mapping_last_name: 'LastName', mapping_groups: 'Groups' },
  google: { mapping_email: 'Email', mapping_first_name: 'FirstName', mapping_last_name: 'LastName', mapping_groups: 'Groups' },
  okta: { mapping_email: 'email', mapping_first_name: 'firstName', mapping_last_name: 'lastName', mapping_groups: 'groups' },
  azure: { mapping_email: 'emailAddress', mapping_first_name: 'givenName', mapping_last_name: 'surname', mapping_groups: 'groups' },
  azure_claims: {
    mapping_email: `${WS}/emailaddress`,
    mapping_first_name: `${WS}/givenname`,
    mapping_last_name: `${WS}/surname`,
    mapping_groups: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
  },
  pingone: { mapping_email: 'email', mapping_first_name: 'given_name', mapping_last_name: 'family_name', mapping_groups: 'memberOf' },
  auth0: { mapping_email: `${WS}/emailaddress`, mapping_first_name: `${WS}/givenname`, mapping_last_name: `${WS}/surname`, mapping_groups: 'http://schemas.xmlsoap.org/claims/Group' },
} as const satisfies Record<string, AttributeNames>;

export type Preset = keyof typeof PRESETS;
export const PRESET_KEYS = Object.keys(PRESETS) as Preset[];

/** LSE's defaults when no preset is chosen. */
export const DEFAULT_ATTRIBUTES: AttributeNames = PRESETS.custom;

export const isPreset = (v: unknown): v is Preset => typeof v === 'string' && (PRESET_KEYS as string[]).includes(v);
