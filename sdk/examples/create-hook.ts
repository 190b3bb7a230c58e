// examples/create-hook.ts
import { hookline } from "./client.js";

/** Subscribes `url` to every `order:` event. Keep the secret: it verifies what Hookline sends. */
export async function subscribeToOrders(url: string) {
  const { data, error } = await hookline.POST("/v1/hooks", {
    body: { url, events: ["order:*"], name: "orders" },
  });
  if (error) throw new Error(`could not create the hook: ${error.title} (${error.detail ?? error.status})`);
  return { id: data.id, secret: data.secret };
}
