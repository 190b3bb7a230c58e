// examples/publish-event.ts
import { hookline } from "./client.js";

/**
 * Publishes an `order:created` event. The Idempotency-Key makes the call safe
 * to retry: Hookline answers a repeat with the first answer, and the client
 * retries it on network errors, 429 and 5xx.
 */
export async function publishOrderCreated(orderId: string) {
  const { data, error } = await hookline.POST("/v1/events", {
    params: { header: { "idempotency-key": `order-created-${orderId}` } },
    body: { type: "order:created", data: { order_id: orderId, total_cents: 4200 } },
  });
  if (error) throw new Error(`could not publish: ${error.title} (${error.detail ?? error.status})`);
  return { eventId: data.id, deliveries: data.deliveries };
}

/**
 * Publishes many `order:created` events in one request (up to 1,000): one
 * transaction, one result per event in order — its id, or its problem.
 * Each event's idempotency_key makes a retried batch a no-op for it.
 */
export async function publishOrdersCreated(orderIds: string[]) {
  const { data, error } = await hookline.POST("/v1/events/batch", {
    body: {
      events: orderIds.map((orderId) => ({
        type: "order:created",
        idempotency_key: `order-created-${orderId}`,
        data: { order_id: orderId, total_cents: 4200 },
      })),
    },
  });
  if (error) throw new Error(`could not publish: ${error.title} (${error.detail ?? error.status})`);
  return data.results.map((r) => ("id" in r ? { eventId: r.id, deliveries: r.deliveries } : { problem: r.problem }));
}
