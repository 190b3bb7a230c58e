import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "kysely";
import type { Store } from "../../store/database.js";
import { problemResponses } from "../problem.js";
import { createRouter } from "../router.js";
import { ProblemError } from "../problem.js";

const StatusSchema = z.object({ status: z.literal("ok") }).openapi("HealthStatus");

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
  summary: "Readiness: the database answers",
  responses: {
    200: { description: "Ready.", content: { "application/json": { schema: StatusSchema } } },
    503: problemResponses(503)[503],
  },
});

export function createHealthRouter(store: Store) {
  return createRouter()
    .openapi(healthz, (c) => c.json({ status: "ok" as const }, 200))
    .openapi(readyz, async (c) => {
      try {
        await sql`select 1`.execute(store.db);
      } catch {
        throw new ProblemError("unavailable", "The database does not answer.");
      }
      return c.json({ status: "ok" as const }, 200);
    });
}
