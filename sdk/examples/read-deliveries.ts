// examples/read-deliveries.ts
import { hookline } from "./client.js";

/** The latest deliveries to a hook, newest first. */
export async function latestDeliveries(hookId: number) {
  const { data, error } = await hookline.GET("/v1/hooks/{id}/deliveries", {
    params: { path: { id: hookId }, query: { limit: 10 } },
  });
  if (error) throw new Error(`could not read deliveries: ${error.title} (${error.detail ?? error.status})`);
  return data;
}
