/**
 * Typed domain errors. Each carries its HTTP status; one middleware maps them to LSE's error shape
 * `{detail, …}`. Nothing else in Roster decides a status code for a failure.
 */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = new.target.name;
  }
  body(): Record<string, unknown> {
    return { detail: this.detail, ...this.extra };
  }
}

export type FieldErrors = Record<string, string[]>;

/** 400 — invalid input; `validation_errors` as LSE returns them. */
export class ValidationError extends DomainError {
  constructor(detail: string, fields?: FieldErrors) {
    super(400, detail, fields ? { validation_errors: fields } : {});
  }
}
/** 401 — no credentials or bad ones. */
export class AuthenticationError extends DomainError {
  constructor(detail = 'Authentication credentials were not provided.') {
    super(401, detail);
  }
}
/** 403 — authenticated but not allowed. */
export class ForbiddenError extends DomainError {
  constructor(detail = 'You do not have permission to perform this action.') {
    super(403, detail);
  }
}
/** 404 — unknown, or not visible to the caller (never reveals another organization's data). */
export class NotFoundError extends DomainError {
  constructor(detail = 'Not found.') {
    super(404, detail);
  }
}
/** 405 — the method exists but the operation is not allowed on this resource (LSE: deleting oneself). */
export class MethodNotAllowedError extends DomainError {
  constructor(detail: string) {
    super(405, detail);
  }
}
/** 409 — conflicts with the current state (invariants: one Owner, unique email, …). */
export class ConflictError extends DomainError {
  constructor(detail: string, extra: Record<string, unknown> = {}) {
    super(409, detail, extra);
  }
}
/** 413 — request body too large. */
export class PayloadTooLargeError extends DomainError {
  constructor(limit: number) {
    super(413, `Request body exceeds ${limit} bytes.`);
  }
}
/** 415 — body is not JSON. */
export class UnsupportedMediaTypeError extends DomainError {
  constructor(detail = 'Unsupported media type; send application/json.') {
    super(415, detail);
  }
}
/** 503 — a part Roster needs is not configured or not reachable. */
export class ServiceUnavailableError extends DomainError {
  constructor(detail: string) {
    super(503, detail);
  }
}
