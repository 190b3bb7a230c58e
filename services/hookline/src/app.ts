import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Logger } from "pino";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { createListenSessions } from "./delivery/listen-sessions.js";
import { createDeliveryTransport } from "./delivery/transport.js";
import { createPublishService } from "./events/publish-service.js";
import { createHookService } from "./hooks/hook-service.js";
import { createDeliveriesRouter } from "./http/deliveries/deliveries.index.js";
import { createEventsRouter } from "./http/events/events.index.js";
import { createMetricsRouter } from "./http/metrics/metrics.index.js";
import { createMetrics } from "./metrics/metrics.js";
import { createKeyAuthenticator, type KeyAuthenticator } from "./auth/key-cache.js";
import { createAccountsRouter } from "./http/accounts/accounts.index.js";
import { createKeysRouter } from "./http/keys/keys.index.js";
import { createListenRouter } from "./http/listen/listen.index.js";
import { createApiDocsRouter } from "./http/api-docs.js";
import { createDashboardRouter } from "./http/dashboard/dashboard.index.js";
import { DASHBOARD_PATH } from "./http/dashboard/session.js";
import type { AppDeps, AppEnv } from "./http/app-env.js";
import { adminAuth, apiKeyAuth } from "./http/auth.js";
import { createEventTypesRouter } from "./http/event-types/event-types.index.js";
import { createHealthRouter } from "./http/health/health.index.js";
import { createHooksRouter } from "./http/hooks/hooks.index.js";
import { createKazooRouter, kazooErrorEnvelope } from "./http/profiles/kazoo/kazoo.index.js";
import { createKuduRouter } from "./http/profiles/kudu/kudu.index.js";
import { createLopennaefRouter } from "./http/profiles/lopennaef/lopennaef.index.js";
import { PROBLEM_KINDS, ProblemError, problemResponse, toProblemError, type ProblemKind } from "./http/problem.js";
import { bodyGuards } from "./http/request-guards.js";
import { idempotency } from "./http/idempotency.js";
import { describeCrossCuttingAnswers } from "./http/openapi-cross-cutting.js";
import { withRateLimitResponses } from "./http/rate-limit-responses.js";
import { createPortalRouter } from "./http/dashboard/portal.index.js";
import { createPortalApiRouter } from "./http/portal/portal.index.js";
import { PORTAL_PATH } from "./auth/portal-links.js";
import { createRateLimits } from "./http/rate-limits.js";
import { soloPeers, type LoopPeers } from "./http/loop-peers.js";
import { createSecretBox, ephemeralSecretBox } from "./signing/secret-box.js";
import { builtInEventTypes, loadOpenApiDocument } from "./spec/openapi-document.js";
import { tracing } from "./tracing/tracing.js";

/** Health, readiness and metrics: logged at debug, not info. */
const PROBE_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/** The admin operations (accounts, an account's keys); every other `/v1` operation takes an API key. */
const ADMIN_PATH = /^\/v1\/accounts(\/[^/]+\/(keys(\/[^/]+(\/rotate)?)?|portal-sessions|portal-settings))?\/?$/;

/**
 * Builds the HTTP application from its dependencies. Tests build their own
 * with their own store and config; `main.ts` builds the real one.
 *
 * @example
 * const app = createApp({ store, config, logger });
 * const res = await app.request("/healthz");
 */
export function createApp(deps: AppDeps) {
  const { store, config, logger } = deps;
  const app = new OpenAPIHono<AppEnv>();
  const document = loadOpenApiDocument();
  const transport = deps.transport ?? createDeliveryTransport({ allowPrivateTargets: config.allowPrivateTargets, timeoutMs: config.delivery.timeoutMs, deadlineMs: config.delivery.attemptDeadlineMs });
  const metrics = deps.metrics ?? createMetrics(store);
  const secrets = deps.secrets ?? (config.mainSecret ? createSecretBox(config.mainSecret, config.mainSecretPrevious) : ephemeralSecretBox());
  const hookService = createHookService({ store, config, transport, secrets });
  const eventTypes = builtInEventTypes(document);
  const publishService = createPublishService({ store, eventTypes, maxDataBytes: config.bodyLimitBytes });
  const listen = deps.listen ?? createListenSessions({ store, config, secrets, logger, metrics });

  // Installed only when tracing is on (started before the app is built): off, requests pay nothing for it.
  const traces = tracing();
  if (traces) {
    app.use((c, next) =>
      traces.httpServer({ method: c.req.method, path: c.req.path, header: (name) => c.req.header(name) }, next, () => ({ route: c.req.routePath, status: c.res.status })),
    );
  }
  app.use(requestId());
  // One line per request. No per-request child logger: building one costs more
  // than the rest of a cached-auth GET, and the request id is all it would add.
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    // Probes come every few seconds from load balancers and Prometheus: at info they would drown the log.
    const level = PROBE_PATHS.has(c.req.path) ? "debug" : "info";
    if (logger.isLevelEnabled(level)) {
      logger[level](
        { request_id: c.get("requestId"), method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) },
        "request",
      );
    }
  });
  // The browser-facing page gets the full set of security headers; JSON answers
  // need only nosniff, and setting a dozen headers on every API call is a
  // measurable share of a cached-auth GET.
  app.use("/docs", secureHeaders({ contentSecurityPolicy: undefined, crossOriginResourcePolicy: false }));
  app.use("/v1/*", (c, next) => {
    c.header("x-content-type-options", "nosniff");
    return next();
  });

  // Ahead of the /v1 guards so their errors on Kazoo's paths are in Kazoo's envelope.
  app.use("/v1/accounts/*", kazooErrorEnvelope());
  const peers = deps.peers ?? soloPeers;
  const limits = createRateLimits(config.rateLimit, peers);
  const keys = sharedKeyAuthenticator(
    createKeyAuthenticator(store, config.keyCacheSeconds, (error) => logger.warn({ err: error }, "could not record an API key's last use")),
    peers,
  );
  const keyAuth = apiKeyAuth(keys, limits);
  const admin = adminAuth(config.adminToken, limits);
  app.use("/v1/*", (c, next) => (ADMIN_PATH.test(c.req.path) ? admin(c, next) : keyAuth(c, next)));
  const guards = bodyGuards(config.bodyLimitBytes);
  const batchGuards = bodyGuards(config.batchBodyLimitBytes);
  app.use("/v1/*", (c, next) => (c.req.path === "/v1/events/batch" ? batchGuards(c, next) : guards(c, next)));
  app.use("/v1/*", idempotency({ store, ttlSeconds: config.idempotencyTtlSeconds, logger, secrets }));

  app.route("/", createHealthRouter(store, deps.queue));
  app.route("/", createAccountsRouter(store));
  app.route("/", createKeysRouter(store, keys));
  app.route("/", createPortalApiRouter(store, config));
  app.route("/", createHooksRouter(hookService));
  app.route("/", createEventTypesRouter(eventTypes));
  app.route("/", createEventsRouter({ store, publish: publishService }));
  app.route("/", createDeliveriesRouter({ store, hooks: hookService }));
  app.route("/", createListenRouter(listen, peers));
  app.route("/", createMetricsRouter(metrics));
  // The profiles publish and ping through the same services as /v1.
  const profileDeps = { store, config, hooks: hookService, events: publishService, keyAuth };
  app.route("/", createKuduRouter(profileDeps));
  app.route("/", createLopennaefRouter(profileDeps));
  app.route("/", createKazooRouter(profileDeps));

  const dashboardDeps = { store, config, logger, hooks: hookService, events: publishService, eventTypes, limits, keys };
  app.route(DASHBOARD_PATH, createDashboardRouter(dashboardDeps));
  app.route(PORTAL_PATH, createPortalRouter(dashboardDeps));

  registerSecuritySchemes(app);
  app.route("/", createApiDocsRouter(document, config.publicUrl));

  app.notFound((c) => problemResponse(c, routeMiss(app, c)));
  app.onError(problemOnError(logger));
  return app;
}

/**
 * The one error answer of every Hookline HTTP server (the app, and a
 * worker's /healthz, /readyz and /metrics): RFC 9457 problem+json, 5xx
 * logged. A worker's /readyz answered a bare 500 while NATS was down.
 */
export function problemOnError(logger: Logger) {
  return (error: Error, c: Context) => {
    const problem = asProblem(error);
    if (problem.status >= 500) logger.error({ err: error, request_id: c.get("requestId") }, "request failed");
    return problemResponse(c, problem);
  };
}

export type HooklineApp = ReturnType<typeof createApp>;

/** `keys`, with a revocation through this loop dropped from every other loop's cache too, at once. */
function sharedKeyAuthenticator(keys: KeyAuthenticator, peers: LoopPeers): KeyAuthenticator {
  peers.onForget((keyHash) => keys.forget(keyHash));
  return {
    authenticate: (keyHash) => keys.authenticate(keyHash),
    forget(keyHash) {
      keys.forget(keyHash);
      peers.forget(keyHash);
    },
  };
}

/** The OpenAPI document the route definitions describe, for the contract suite. */
export function generatedOpenApiDocument(app: HooklineApp) {
  return withRateLimitResponses(describeCrossCuttingAnswers(app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "Hookline", version: "generated" } })));
}

function registerSecuritySchemes(app: OpenAPIHono<AppEnv>) {
  const registry = app.openAPIRegistry;
  registry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer" });
  registry.registerComponent("securitySchemes", "authToken", { type: "apiKey", in: "header", name: "X-Auth-Token" });
  registry.registerComponent("securitySchemes", "adminToken", { type: "http", scheme: "bearer" });
}

/** 405 with `Allow` when the path exists under another method, else 404. */
function routeMiss(app: OpenAPIHono<AppEnv>, c: Context): ProblemError {
  const allowed = new Set<string>();
  for (const route of app.routes) {
    if (route.method === "ALL") continue;
    const pattern = new RegExp(`^${route.path.replace(/:[^/]+/g, "[^/]+")}/?$`);
    if (pattern.test(c.req.path)) allowed.add(route.method);
  }
  if (allowed.size > 0) {
    return new ProblemError("method-not-allowed", `${c.req.method} is not allowed here.`, undefined, {
      allow: [...allowed].sort().join(", "),
    });
  }
  return new ProblemError("not-found", `No route ${c.req.method} ${c.req.path}.`);
}

function asProblem(error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  if (error instanceof HTTPException) {
    const kind = (Object.keys(PROBLEM_KINDS) as ProblemKind[]).find((k) => PROBLEM_KINDS[k].status === error.status);
    // Hono's own 400s are about the body it could not read (a JSON body of only whitespace, a broken form).
    if (error.status === 400) return new ProblemError("malformed-request", error.message, [{ path: "body", message: error.message }]);
    return new ProblemError(kind ?? "internal", error.status < 500 ? error.message : undefined);
  }
  return toProblemError(error);
}
