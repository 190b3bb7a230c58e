/**
 * The domain's one error type. Services (`hooks/`, `events/`, `delivery/`)
 * throw `HooklineError`s that say what went wrong in their own terms; the HTTP
 * edge (`http/problem.ts`) maps each kind to an RFC 9457 problem in one place,
 * so the domain never knows about status codes or response bodies.
 */
export type HooklineErrorKind =
  /** The input breaks a rule; `fields` names each bad value. */
  | "invalid"
  /** No such resource in the caller's account. */
  | "not_found"
  /** The input conflicts with the resource's current state. */
  | "conflict"
  /** A dependency (the database) cannot be reached; the caller may retry after `retryAfterSeconds`. */
  | "unavailable";

/** One bad value: where it is (`body.data.order.id`, `query.limit`, `path.id`) and why. */
export interface FieldError {
  path: string;
  message: string;
}

export class HooklineError extends Error {
  constructor(
    readonly kind: HooklineErrorKind,
    readonly detail: string,
    readonly fields?: FieldError[],
    /** For `unavailable`: how long the caller should wait, in seconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(detail);
    this.name = "HooklineError";
  }
}

/** Shorthand for the most common domain error: one or more bad fields. */
export function invalid(detail: string, fields?: FieldError[]): HooklineError {
  return new HooklineError("invalid", detail, fields);
}

export function notFound(detail: string): HooklineError {
  return new HooklineError("not_found", detail);
}
