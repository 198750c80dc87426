/**
 * SCIM's error shape (RFC 7644 §3.12): `{schemas: [Error URN], status: "404", scimType?, detail}`.
 * A ScimError is a DomainError, so it carries its status like every other failure; the SCIM chain
 * (functions/http.ts `scim()`) answers every DomainError in this shape.
 */
import { DomainError } from '../../core/errors.js';

export const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

export type ScimType = 'uniqueness' | 'invalidFilter' | 'invalidPath' | 'noTarget' | 'invalidValue' | 'mutability' | 'tooMany' | 'invalidSyntax' | 'invalidVers' | 'sensitive';

export class ScimError extends DomainError {
  constructor(status: number, detail: string, readonly scimType?: ScimType) {
    super(status, detail);
  }
}

export const invalidValue = (detail: string) => new ScimError(400, detail, 'invalidValue');
export const invalidFilter = (detail: string) => new ScimError(400, detail, 'invalidFilter');
export const invalidPath = (detail: string) => new ScimError(400, detail, 'invalidPath');
export const invalidSyntax = (detail: string) => new ScimError(400, detail, 'invalidSyntax');
export const noTarget = (detail: string) => new ScimError(400, detail, 'noTarget');
export const mutability = (detail: string) => new ScimError(400, detail, 'mutability');
export const uniqueness = (detail: string) => new ScimError(409, detail, 'uniqueness');
export const tooMany = (detail: string) => new ScimError(400, detail, 'tooMany');
export const scimNotFound = (detail = 'Resource not found.') => new ScimError(404, detail);

/** Any domain error as SCIM's error body (status as a string, as RFC 7644 and Okta's test want it). */
export function scimErrorBody(err: DomainError): Record<string, unknown> {
  const scimType = err instanceof ScimError ? err.scimType : err.status === 409 ? 'uniqueness' : undefined;
  const fields = (err.extra as { validation_errors?: Record<string, string[]> }).validation_errors;
  const detail = fields ? `${err.detail}: ${Object.entries(fields).map(([k, v]) => `${k}: ${v.join(' ')}`).join('; ')}` : err.detail;
  return { schemas: [ERROR_URN], status: String(err.status), ...(scimType ? { scimType } : {}), detail };
}
