import type { RateLimits } from "../rate-limits.js";
import type { Context } from "hono";
import type { Logger } from "pino";
import type { z } from "zod";
import type { KeyAuthenticator } from "../../auth/key-cache.js";
import type { Config } from "../../config.js";
import type { PublishService } from "../../events/publish-service.js";
import type { HookService } from "../../hooks/hook-service.js";
import type { BuiltInEventType } from "../../spec/openapi-document.js";
import type { Store } from "../../store/database.js";
import { fieldErrors, ProblemError } from "../problem.js";
import type { PageSession } from "./layout.js";
import type { DashboardEnv } from "./session.js";

/** The same services the API uses: the dashboard adds pages, never its own rules or queries. */
export interface DashboardDeps {
  store: Store;
  config: Config;
  logger: Logger;
  hooks: HookService;
  events: PublishService;
  eventTypes: BuiltInEventType[];
  /** The API's limits: a wrong key at sign-in counts against the client address like a wrong key on the API. */
  limits: RateLimits;
  /** The API's key cache: a key revoked or rotated here stops working in this process at once, as through /v1/keys. */
  keys: KeyAuthenticator;
}

/** What a page needs from the session: whose it is, its surface and scope, and the CSRF token for its forms. */
export function pageSession(c: Context<DashboardEnv>): PageSession {
  return c.get("page");
}

/**
 * Parses with the API's own schema and fails like the API does: a validation
 * problem naming each bad field (`path.id`, `query.status`, `body.url`).
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, part: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ProblemError("validation", "The request has invalid fields.", fieldErrors(part, result.error.issues));
  return result.data;
}
