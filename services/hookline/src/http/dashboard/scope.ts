import type { MiddlewareHandler } from "hono";
import { MAX_INT4, parseDecimalInteger } from "../decimal-integers.js";
import { findHook } from "../../store/hooks.js";
import type { Db } from "../../store/db-handle.js";
import type { FieldError } from "../problem.js";
import { ProblemError } from "../problem.js";
import type { PageSession } from "./layout.js";
import type { DashboardEnv } from "./session.js";

/**
 * The limits of a session beyond its account (a portal link's options):
 * read-only, and the event types it may see and send. A dashboard session
 * (an API key's) has neither. Checked here, once, for every page and form.
 */

/** Refuses every POST of a read-only session (its pages show no such form, this holds if one is forged). */
export function requireWritable(): MiddlewareHandler<DashboardEnv> {
  return async (c, next) => {
    if (c.req.method === "POST" && c.get("page").readOnly) throw new ProblemError("forbidden", "This session is read-only.");
    await next();
  };
}

/** Whether the session may see or send events of `type`. */
export function typeInScope(page: PageSession, type: string): boolean {
  return page.eventTypes === undefined || page.eventTypes.includes(type);
}

/** The types to filter lists by: the session's, or undefined for every type. */
export function scopedTypes(page: PageSession): string[] | undefined {
  return page.eventTypes;
}

/**
 * Why a hook's `events` reach beyond the session's types, or undefined: a
 * session limited to some types subscribes hooks to those types only, by
 * name (no `*`, `all` or `prefix:*`, which would take every other type too).
 */
export function eventsOutOfScope(page: PageSession, events: string[]): FieldError[] | undefined {
  if (page.eventTypes === undefined) return undefined;
  const outside = events.filter((e) => !page.eventTypes!.includes(e));
  if (outside.length === 0) return undefined;
  return [{ path: "body.events", message: `may name only these event types: ${page.eventTypes.join(", ")} (not ${outside.join(", ")})` }];
}

/**
 * Whether a hook lies within the session's types: every event it subscribes
 * to is one of them, by name. A hook on `*`, a prefix or another type also
 * receives events outside the scope, so a type-limited session neither sees
 * nor changes it.
 */
export function hookInScope(page: PageSession, events: string[]): boolean {
  return page.eventTypes === undefined || (events.length > 0 && eventsOutOfScope(page, events) === undefined);
}

/**
 * Answers 404 for every page and action of a hook outside a type-limited
 * session's scope (`/hooks/:id` and below), as for another account's hook:
 * the portal link limited to `invoice.paid` must not pause, edit, rotate or
 * delete the account's other hooks.
 */
export function requireHookInScope(db: Db): MiddlewareHandler<DashboardEnv> {
  return async (c, next) => {
    // A malformed id is left to the route's own schema (400 naming it).
    const id = parseDecimalInteger(c.req.param("id") ?? "", 1, MAX_INT4);
    if (c.get("page").eventTypes !== undefined && id !== undefined) {
      const hook = await findHook(db, c.get("account").id, id);
      if (!hook || !hookInScope(c.get("page"), hook.events)) throw new ProblemError("not-found", "No such hook.");
    }
    await next();
  };
}
