import { createRoute, z } from "@hono/zod-openapi";
import type { Metrics } from "../../metrics/metrics.js";
import { createRouter } from "../router.js";

export const getMetrics = createRoute({
  method: "get",
  path: "/metrics",
  operationId: "getMetrics",
  tags: ["Operations"],
  summary: "Prometheus metrics",
  responses: {
    200: { description: "Prometheus text exposition format.", content: { "text/plain": { schema: z.string() } } },
  },
});

export function createMetricsRouter(metrics: Metrics) {
  return createRouter().openapi(getMetrics, async (c) => {
    await metrics.refreshQueue().catch(() => {});
    return c.text(await metrics.render(), 200, { "content-type": metrics.registry.contentType });
  });
}
