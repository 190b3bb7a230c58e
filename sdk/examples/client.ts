// examples/client.ts
import { createClient } from "@hookline/sdk";

// One client for the process: it sends the key and retries idempotent calls.
export const hookline = createClient({
  baseUrl: process.env.HOOKLINE_URL ?? "http://127.0.0.1:8080",
  apiKey: process.env.HOOKLINE_API_KEY ?? "",
});
