import { describe, expect, it } from 'vitest';
import { emailDomain, orgOfFederatedUsername, orgOfProvider, parseGroups, providerName } from '../../lib/federation/saml/provider.js';
import { PRESETS } from '../../lib/federation/saml/presets.js';

describe('SAML provider names', () => {
  it('names an organization\'s IdP from its id, within Cognito\'s 32 characters and without "_"', () => {
    expect(providerName(7)).toBe('roster-org-7');
    const longest = providerName(9_999_999_999);
    expect(longest.length).toBeLessThanOrEqual(32);
    expect(longest).not.toContain('_');
  });

  it('reads the organization back from a provider name, and nothing from names that are not Roster\'s', () => {
    expect(orgOfProvider('roster-org-7')).toBe(7);
    expect(orgOfProvider('ROSTER-ORG-12')).toBe(12);
    for (const other of ['roster-org-', 'roster-org-07', 'roster-org-1x', 'Okta', 'roster-org-1 ', undefined]) expect(orgOfProvider(other)).toBeUndefined();
  });

  it('reads the organization from a federated username (<provider>_<NameID>, lower-cased by the pool), the NameID may hold "_"', () => {
    expect(orgOfFederatedUsername('roster-org-3_00u1abc')).toBe(3);
    expect(orgOfFederatedUsername('roster-org-3_ad\\rumesh_x')).toBe(3);
    expect(orgOfFederatedUsername('ann@example.com')).toBeUndefined();
    expect(orgOfFederatedUsername('okta_roster-org-3')).toBeUndefined();
    expect(orgOfFederatedUsername('_roster-org-3')).toBeUndefined();
  });
});

describe('groups as Cognito writes them into custom:groups', () => {
  it('splits a multi-valued attribute "[a, b]"', () => {
    expect(parseGroups('[RIDY-RUMESH, RIDY-JOSE, RUMESH]')).toEqual(['RIDY-RUMESH', 'RIDY-JOSE', 'RUMESH']);
    expect(parseGroups('[GROUPID1,GROUPID2]')).toEqual(['GROUPID1', 'GROUPID2']);
  });

  it('URL-decodes the items of a multi-valued attribute (form encoding: + is a space)', () => {
    expect(parseGroups('[R%26D, Data+Science, a%2Cb]')).toEqual(['R&D', 'Data Science', 'a,b']);
  });

  it('takes a single value without brackets as it is', () => {
    expect(parseGroups('Reviewers')).toEqual(['Reviewers']);
    expect(parseGroups('R%26D')).toEqual(['R%26D']);
  });

  it('reads "[]", an empty string and an absent attribute as no groups', () => {
    expect(parseGroups('[]')).toEqual([]);
    expect(parseGroups('[ ]')).toEqual([]);
    expect(parseGroups('')).toEqual([]);
    expect(parseGroups(undefined)).toEqual([]);
  });

  it('keeps case (group names match case-sensitively) and drops duplicates', () => {
    expect(parseGroups('[Admins, admins, Admins]')).toEqual(['Admins', 'admins']);
  });
});

describe('emails and presets', () => {
  it('takes the domain after the last @, lower-case', () => {
    expect(emailDomain('Ann@Example.COM')).toBe('example.com');
    expect(emailDomain('"a@b"@corp.example')).toBe('corp.example');
    for (const bad of ['ann', 'ann@', '@example.com', undefined]) expect(emailDomain(bad)).toBeUndefined();
  });

  it('has LSE\'s default attribute names per preset', () => {
    expect(PRESETS.custom).toEqual({ mapping_email: 'Email', mapping_first_name: 'FirstName', mapping_last_name: 'LastName', mapping_groups: 'Groups' });
    expect(PRESETS.okta).toEqual({ mapping_email: 'email', mapping_first_name: 'firstName', mapping_last_name: 'lastName', mapping_groups: 'groups' });
    expect(PRESETS.azure).toEqual({ mapping_email: 'emailAddress', mapping_first_name: 'givenName', mapping_last_name: 'surname', mapping_groups: 'groups' });
    expect(PRESETS.azure_claims.mapping_email).toBe('http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress');
  });
});
