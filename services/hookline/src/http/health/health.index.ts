import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "kysely";
import { HooklineError } from "../../domain/errors.js";
import type { QueueReadiness } from "../../delivery/queue/queue.js";
import type { Store } from "../../store/database.js";
import { DATABASE_RETRY_AFTER_SECONDS } from "../../store/database-errors.js";
import { problemResponses } from "../problem.js";
import { createRouter } from "../router.js";

const StatusSchema = z.strictObject({ status: z.literal("ok") }).openapi("HealthStatus");

/** How long /readyz waits for the database before answering 503. */
export const READINESS_TIMEOUT_MS = 1000;

export const healthz = createRoute({
  method: "get",
  path: "/healthz",
  operationId: "getHealth",
  tags: ["Operations"],
  summary: "Liveness: the process is up",
  responses: { 200: { description: "Up.", content: { "application/json": { schema: StatusSchema } } } },
});

export const readyz = createRoute({
  method: "get",
  path: "/readyz",
  operationId: "getReadiness",
  tags: ["Operations"],
  summary: "Readiness: the database and the delivery queue answer",
  responses: {
    200: { description: "Ready.", content: { "application/json": { schema: StatusSchema } } },
    503: problemResponses(503)[503],
  },
});

/**
 * /healthz and /readyz. Readiness asks the database and, when given, the
 * delivery queue (`DeliveryQueue.check`: NATS reachable with its stream):
 * a NATS outage makes the process not ready, though publishes still answer
 * 202 (the outbox holds them).
 */
export function createHealthRouter(store: Store, queue?: QueueReadiness) {
  return createRouter()
    .openapi(healthz, (c) => c.json({ status: "ok" as const }, 200))
    .openapi(readyz, async (c) => {
      // Bounded: a load balancer's probe must get an answer, not hang on a
      // connection attempt to a database that is restarting.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), READINESS_TIMEOUT_MS)));
      const probe = sql`select 1`.execute(store.db).then(() => "ok" as const, () => "failed" as const);
      const outcome = await Promise.race([probe, timeout]).finally(() => clearTimeout(timer));
      if (outcome !== "ok") {
        const detail = outcome === "timeout" ? `The database did not answer within ${READINESS_TIMEOUT_MS} ms.` : "The database does not answer.";
        throw new HooklineError("unavailable", detail, undefined, DATABASE_RETRY_AFTER_SECONDS);
      }
      if (queue) {
        const checked = await Promise.race([queue.check().then(() => "ok" as const, () => "failed" as const), new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), READINESS_TIMEOUT_MS)))]).finally(() => clearTimeout(timer));
        if (checked !== "ok") throw new HooklineError("unavailable", `The delivery queue (${queue.kind}) does not answer.`, undefined, DATABASE_RETRY_AFTER_SECONDS);
      }
      return c.json({ status: "ok" as const }, 200);
    });
}
