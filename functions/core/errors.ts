/**
 * The failures the domain can report, in the domain's own words: a kind, a stable reason and a message. No HTTP here;
 * each transport renders them (Graph's envelope for /v1.0 and /api, SCIM's error body, an HTML message in the UI).
 */

export type ErrorKind =
  /** The input is wrong; `fields` says where. */
  | "validation"
  /** A query the service understands but does not serve (Graph's Request_UnsupportedQuery). */
  | "unsupported"
  | "unauthenticated"
  | "forbidden"
  | "notFound"
  /** Another change won a race; retrying later may succeed. */
  | "conflict"
  /** A value that must be unique is taken. */
  | "uniqueness"
  /** The licensing rules refuse the change (no seat, exclusive plans, a missing prerequisite, a location...). */
  | "licensingRefused"
  | "tooLarge"
  | "methodNotAllowed"
  | "unsupportedMediaType"
  | "rateLimited"
  /** A request of a JSON batch that was not run because a request it depends on failed. */
  | "failedDependency";

export type FieldError = { field: string; message: string };

export type DomainErrorOptions = {
  /** A stable, machine-readable name for the case (e.g. `noSeats`, `inheritedLicense`): renderers and tests key on it. */
  reason?: string;
  fields?: FieldError[];
  /** Seconds after which a retry may succeed (conflict, rateLimited). */
  retryAfter?: number;
  /** HTTP methods the resource does allow (methodNotAllowed). */
  allow?: string[];
};

/** A failure the caller can act on. Thrown anywhere below the transports; rendered once per transport. */
export class DomainError extends Error {
  readonly kind: ErrorKind;
  readonly reason: string | undefined;
  readonly fields: FieldError[] | undefined;
  readonly retryAfter: number | undefined;
  readonly allow: string[] | undefined;

  constructor(kind: ErrorKind, message: string, options: DomainErrorOptions = {}) {
    super(message);
    this.name = "DomainError";
    this.kind = kind;
    this.reason = options.reason;
    this.fields = options.fields;
    this.retryAfter = options.retryAfter;
    this.allow = options.allow;
  }
}

/** The licensing rules' refusal: which rule (the Graph error code of licenseAssignmentState), SKU and plans. */
export class LicensingRefused extends DomainError {
  readonly skuId: string | undefined;
  readonly plans: readonly string[];

  constructor(reason: string, message: string, details: { skuId?: string; plans?: readonly string[] } = {}) {
    super("licensingRefused", message, { reason });
    this.skuId = details.skuId;
    this.plans = details.plans ?? [];
  }
}

export const invalid = (message: string, options: DomainErrorOptions = {}) =>
  new DomainError("validation", message, options);

export const unsupported = (message: string, reason?: string) =>
  new DomainError("unsupported", message, reason ? { reason } : {});

export const forbidden = (message = "Insufficient privileges to complete the operation.", reason?: string) =>
  new DomainError("forbidden", message, reason ? { reason } : {});

export const notFound = (id: string) =>
  new DomainError(
    "notFound",
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );

export const concurrencyViolation = () =>
  new DomainError("conflict", "Another operation changed this object at the same time. Retry the request.", {
    reason: "concurrency",
    retryAfter: 1,
  });

export const uniqueness = (field: string, message: string) =>
  new DomainError("uniqueness", message, { reason: "uniqueness", fields: [{ field, message }] });
