import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/core/errors.js';
import { MAX_DOMAINS, domainProblem, parseDomains } from '../../lib/federation/saml/domains.js';

const fieldErrors = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return ((err as ValidationError).extra.validation_errors as Record<string, string[]>).domain!;
  }
  throw new Error('expected a ValidationError');
};

describe('SSO domains', () => {
  it('refuses free mail domains from email-providers\' list', () => {
    for (const d of ['gmail.com', 'yahoo.com', 'outlook.com', 'mail.ru']) expect(domainProblem(d)).toMatch(/public email domain/);
    expect(domainProblem('humansignal.com')).toBeUndefined();
  });

  it('refuses what is not a domain name, and names over 40 characters (Cognito\'s identifier limit)', () => {
    for (const d of ['com', 'exa mple.com', '-a.com', 'a-.com', 'a..com', 'example.c0m', 'ex_ample.com', 'a@b.com']) expect(domainProblem(d)).toMatch(/not a domain name/);
    const long = `${'a'.repeat(33)}.example`;
    expect(long.length).toBe(41);
    expect(domainProblem(long)).toMatch(/at most 40 characters/);
    expect(domainProblem(`${'a'.repeat(32)}.example`)).toBeUndefined();
  });

  it('parses LSE\'s comma list into unique lower-case domains', () => {
    expect(parseDomains('Acme.example, corp.acme.example,acme.example,')).toEqual(['acme.example', 'corp.acme.example']);
    // example.com itself is on the list (disposable-mail lists carry it).
    expect(domainProblem('example.com')).toMatch(/public email domain/);
    expect(parseDomains('')).toEqual([]);
  });

  it('names every bad domain of a list at once, and refuses more than 50', () => {
    const errors = fieldErrors(() => parseDomains('gmail.com,ok.example,bad_domain'));
    expect(errors).toHaveLength(2);
    expect(errors.join(' ')).toMatch(/gmail\.com/);
    expect(errors.join(' ')).toMatch(/bad_domain/);
    const many = Array.from({ length: MAX_DOMAINS + 1 }, (_, i) => `d${i}.example`).join(',');
    expect(fieldErrors(() => parseDomains(many)).join(' ')).toMatch(/At most 50 domains/);
    expect(parseDomains(many.split(',').slice(0, 50).join(','))).toHaveLength(50);
  });
});
