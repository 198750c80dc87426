/**
 * How Roster names an organization's SAML IdP in the user pool, and how it reads what Cognito
 * writes for a federated user: the username and the flattened groups attribute.
 */

const PREFIX = 'roster-org-';
const NAME = /^roster-org-([1-9][0-9]{0,9})$/i;

/**
 * The IdP's name in the pool: fixed per organization from its id, since deleting and re-creating a
 * provider under another name would give its people new Cognito users. 1–32 characters, no `_`
 * (Cognito's ProviderNameTypeV2), so a federated username `<provider>_<NameID>` splits at its first `_`.
 */
export const providerName = (orgId: number) => `${PREFIX}${orgId}`;

/** The organization a provider name stands for, or undefined when it is not one of Roster's. */
export function orgOfProvider(name: string | undefined): number | undefined {
  const m = name ? NAME.exec(name) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * A Cognito username of a federated user (`<ProviderName>_<NameID>`, lower-cased by the
 * case-insensitive pool): the organization whose IdP it came through, or undefined for anyone else
 * (a password user, another pool's provider).
 */
export function orgOfFederatedUsername(username: string | undefined): number | undefined {
  if (!username) return undefined;
  const at = username.indexOf('_');
  return at > 0 ? orgOfProvider(username.slice(0, at)) : undefined;
}

/** The most characters Cognito keeps in one mapped attribute (a longer value fails the sign-in). */
export const MAX_ATTRIBUTE_LENGTH = 2048;

const decode = (s: string) => {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
};

/**
 * The groups in a `custom:groups` value as Cognito writes it: a multi-valued SAML attribute is one
 * string `[a, b]` (items URL-form-encoded when they hold characters other than letters, digits and
 * `. - * _`; decoded here), a single value has no brackets and is taken as it is, `[]` or an
 * empty string is none. Undefined (the attribute absent) is none as well.
 */
export function parseGroups(value: string | undefined | null): string[] {
  if (value === undefined || value === null) return [];
  let s = value.trim();
  if (!s) return [];
  if (s.startsWith('[') && s.endsWith(']')) {
    s = s.slice(1, -1).trim();
    if (!s) return [];
    return [...new Set(s.split(/\s*,\s*/).filter(Boolean).map(decode))];
  }
  return [s];
}

/** The lower-case domain of an email address (after its last `@`), or undefined when it has none. */
export function emailDomain(email: string | undefined): string | undefined {
  if (!email) return undefined;
  const at = email.lastIndexOf('@');
  if (at < 1 || at === email.length - 1) return undefined;
  return email.slice(at + 1).trim().toLowerCase();
}
