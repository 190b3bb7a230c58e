export { createClient, type HooklineClient, type HooklineClientOptions, type Problem } from "./client.js";
export { paginate, type ListPath, type ListItem } from "./paginate.js";
export { HooklineApiError } from "./api-error.js";
export { withRetries, isIdempotent, retryAfterMs, parseRetryAfter, takesIdempotencyKey, withIdempotencyKey, type RetryOptions, type FetchFunction } from "./retry.js";
export { withTypedAnswers } from "./typed-answers.js";
export { nextLink, UnreadableLinkHeaderError } from "./link-header.js";
export type { paths, components, operations, webhooks } from "./generated/schema.js";
