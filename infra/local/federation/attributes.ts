import { SignInError } from './sp.js';

/** Cognito's limit on a mapped attribute's value: longer fails the sign-in (no truncation). */
export const MAX_ATTRIBUTE = 2048;

/**
 * application/x-www-form-urlencoded encoding of one value, as Cognito applies to the items of a
 * multi-valued attribute: letters, digits and `. - * _` stay, a space becomes `+`, the rest %XX.
 */
export const formEncode = (v: string) =>
  encodeURIComponent(v)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');

/** One SAML attribute's values as Cognito stores them: one value as is, several as `[a, b]` (items form-encoded). */
export function flatten(values: readonly string[]): string {
  return values.length === 1 ? values[0]! : `[${values.map(formEncode).join(', ')}]`;
}

/**
 * Cognito's attribute mapping (pool attribute → SAML attribute name): only the attributes the
 * assertion carries are returned, so a claim missing from a later assertion leaves the pool
 * attribute's old value. A value over 2,048 characters fails the sign-in.
 */
export function mapAttributes(mapping: Record<string, string>, saml: Record<string, string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [poolAttr, samlName] of Object.entries(mapping)) {
    const values = saml[samlName];
    if (!values) continue;
    const value = flatten(values);
    if (value.length > MAX_ATTRIBUTE) {
      throw new SignInError(`The value of attribute ${poolAttr} (from ${samlName}) is ${value.length} characters, more than Cognito's limit of ${MAX_ATTRIBUTE}: the sign-in fails.`);
    }
    out[poolAttr] = value;
  }
  return out;
}
