// The server package's public surface, for the contract suite, the bench and embedders.
export { createApp, generatedOpenApiDocument, type HooklineApp } from "./app.js";
export { loadConfig, ConfigError, type Config } from "./config.js";
export { startHookline, type RunningHookline } from "./hookline.js";
export { createLogger } from "./logger.js";
export { issueApiKey } from "./auth/key-service.js";
export { insertAccount } from "./store/accounts.js";
export { lockDataDir, LOCK_STALE_MS } from "./store/data-dir-lock.js";
export { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE } from "./http/problem.js";
export { loadOpenApiDocument, OPENAPI_BUNDLE_PATH, builtInEventTypes } from "./spec/openapi-document.js";
export { inlineLocalRefs } from "./spec/inline-refs.js";
export { createDeliveryWorker, type DeliveryWorker } from "./delivery/worker.js";
export { createDeliveryTransport, type DeliveryTransport, RESPONSE_BODY_CAP_BYTES } from "./delivery/transport.js";
export { pingHook, type PingHookTarget, type PingResult } from "./delivery/ping.js";
export { createPublishService, type PublishService, type PublishInput, type PublishResult } from "./events/publish-service.js";
export { createMetrics, type Metrics } from "./metrics/metrics.js";
export { startRetention } from "./delivery/retention.js";
export { pruneFinished } from "./store/deliveries.js";
