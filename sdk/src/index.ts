export { createClient, type HooklineClient, type HooklineClientOptions, type Problem } from "./client.js";
export { paginate, type ListPath, type ListItem } from "./paginate.js";
export { HooklineApiError } from "./api-error.js";
export { withRetries, isIdempotent, retryAfterMs, type RetryOptions, type FetchFunction } from "./retry.js";
export type { paths, components, operations, webhooks } from "./generated/schema.js";
