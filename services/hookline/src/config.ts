import { availableParallelism } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { installFieldMessages } from "./domain/field-messages.js";
import { isAddressOrRange } from "./http/client-address.js";
import { MAIN_KEY_BYTES } from "./signing/secret-box.js";

installFieldMessages();

/**
 * Hookline's configuration: environment variables, validated once at start.
 * Nothing else in the code base reads `process.env`; everything takes a
 * `Config` (or the part of it it needs) as an argument.
 */
const booleanFromEnv = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((value) => value === "true" || value === "1" || value === "yes");

/** Like Svix's: seconds, then minutes, then hours. The last step repeats for hooks with more retries. */
export const DEFAULT_RETRY_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

/** Decodes a main key: standard base64 of exactly 32 bytes (`openssl rand -base64 32`). */
function decodeMainSecret(value: string, ctx: z.RefinementCtx): Buffer {
  const key = Buffer.from(value, "base64");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0 || key.length !== MAIN_KEY_BYTES) {
    ctx.addIssue({ code: "custom", message: `must be ${MAIN_KEY_BYTES} random bytes in standard base64 (openssl rand -base64 ${MAIN_KEY_BYTES})` });
    return Buffer.alloc(0);
  }
  return key;
}
const mainSecretFromEnv = z.string().transform((value, ctx) => decodeMainSecret(value.trim(), ctx));

const configSchema = z.object({
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
    .optional(),
  HOOKLINE_DATA_DIR: z.string().min(1).default(".hookline-data"),
  HOOKLINE_DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  HOOKLINE_ROLE: z.enum(["api", "worker", "both"]).default("both"),
  HOOKLINE_WORKER_THREAD: booleanFromEnv.default(true),
  HOOKLINE_API_PROCESSES: z.coerce.number().int().min(1).max(64).optional(),
  HOOKLINE_ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  HOOKLINE_ALLOW_PRIVATE_TARGETS: booleanFromEnv.default(false),
  HOOKLINE_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(256 * 1024),
  HOOKLINE_BATCH_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024),
  HOOKLINE_SECRET_ROTATION_GRACE_SECONDS: z.coerce.number().int().min(0).max(30 * 24 * 3600).default(24 * 3600),
  HOOKLINE_KEY_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  HOOKLINE_IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().min(60).max(30 * 24 * 3600).default(24 * 3600),
  HOOKLINE_LISTEN_SESSION_TTL_SECONDS: z.coerce.number().int().min(5).max(7 * 24 * 3600).default(600),
  HOOKLINE_PUBLIC_URL: z.url().optional(),
  HOOKLINE_DELIVERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
  HOOKLINE_RETRY_SCHEDULE_MS: z
    .string()
    .regex(/^\d+(,\d+)*$/, "must be comma-separated milliseconds, e.g. 5000,300000")
    .default(DEFAULT_RETRY_SCHEDULE_MS.join(",")),
  HOOKLINE_RETRY_AFTER_MAX_SECONDS: z.coerce.number().int().min(0).max(7 * 24 * 3600).default(3600),
  HOOKLINE_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(64),
  HOOKLINE_WORKER_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  HOOKLINE_LEASE_MS: z.coerce.number().int().min(1000).max(3600_000).default(60_000),
  HOOKLINE_ATTEMPT_DEADLINE_MS: z.coerce.number().int().min(100).max(600_000).optional(),
  HOOKLINE_HOOK_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(16),
  HOOKLINE_BREAKER_THRESHOLD: z.coerce.number().int().min(1).max(10_000).default(10),
  HOOKLINE_BREAKER_PROBE_INTERVAL_MS: z.coerce.number().int().min(10).max(300_000).default(1_000),
  HOOKLINE_AUTO_DISABLE_SECONDS: z.coerce.number().int().min(1).max(365 * 24 * 3600).default(5 * 24 * 3600),
  HOOKLINE_POLL_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  HOOKLINE_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  HOOKLINE_RETENTION_SECONDS: z.coerce.number().int().min(0).default(30 * 24 * 3600),
  HOOKLINE_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  HOOKLINE_QUEUE_URL: z
    .string()
    .regex(/^nats:\/\/[^,\s]+(,(nats:\/\/)?[^,\s]+)*$/, "must be nats://host:port, or several separated by commas")
    .optional(),
  HOOKLINE_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, "must be 1-32 letters, digits, '_' or '-'").default("hookline"),
  HOOKLINE_QUEUE_REPLICAS: z.coerce.number().int().min(1).max(5).optional(),
  HOOKLINE_QUEUE_CREDS_FILE: z.string().min(1).optional(),
  HOOKLINE_QUEUE_TLS_CA_FILE: z.string().min(1).optional(),
  HOOKLINE_QUEUE_TLS_CERT_FILE: z.string().min(1).optional(),
  HOOKLINE_QUEUE_TLS_KEY_FILE: z.string().min(1).optional(),
  HOOKLINE_RETENTION_INTERVAL_MS: z.coerce.number().int().min(100).max(24 * 3600_000).default(600_000),
  HOOKLINE_MAIN_SECRET: mainSecretFromEnv.optional(),
  HOOKLINE_MAIN_SECRET_PREVIOUS: z
    .string()
    .transform((value, ctx) => value.split(",").map((part) => part.trim()).filter(Boolean).map((part) => decodeMainSecret(part, ctx)))
    .optional(),
  HOOKLINE_ENDPOINT_HTTPS_ONLY: booleanFromEnv.default(false),
  HOOKLINE_RATE_LIMIT_REQUESTS: z.coerce.number().int().min(0).max(1_000_000_000).default(6000),
  HOOKLINE_RATE_LIMIT_PUBLISH_REQUESTS: z.coerce.number().int().min(0).max(1_000_000_000).default(600_000),
  HOOKLINE_RATE_LIMIT_FAILED_AUTH: z.coerce.number().int().min(0).max(1_000_000_000).default(30),
  HOOKLINE_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  HOOKLINE_TRUSTED_PROXIES: z
    .string()
    .transform((value, ctx) => {
      const parts = value.split(",").map((part) => part.trim()).filter(Boolean);
      for (const part of parts.filter((p) => !isAddressOrRange(p))) ctx.addIssue({ code: "custom", message: `${part} is not an IP address or CIDR range` });
      return parts;
    })
    .optional(),
  // OpenTelemetry's standard variables (opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables and
  // .../protocol/exporter): tracing is on when an OTLP endpoint is set or OTEL_TRACES_EXPORTER=otlp, off otherwise.
  OTEL_SDK_DISABLED: booleanFromEnv.optional(),
  OTEL_TRACES_EXPORTER: z.enum(["otlp", "none"], { message: 'must be "otlp" or "none" (Hookline exports OTLP over HTTP only)' }).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(["http/protobuf", "http/json"], { message: 'must be "http/protobuf" or "http/json" (grpc is not supported)' }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(["http/protobuf", "http/json"], { message: 'must be "http/protobuf" or "http/json" (grpc is not supported)' }).optional(),
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: z.string().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  OTEL_RESOURCE_ATTRIBUTES: z.string().optional(),
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().min(0).max(600_000).optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  HOOKLINE_LOG_FORMAT: z.enum(["auto", "json", "pretty"]).default("auto"),
  HOOKLINE_API_KEY: z.string().min(1).optional(),
  /** Set by npm and pnpm to the folder the user ran the command in (the script itself runs in the package's folder). */
  INIT_CWD: z.string().optional(),
});

export type Config = {
  host: string;
  port: number;
  /** PostgreSQL connection string; absent means embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  /**
   * PGlite data folder as an absolute path (a relative HOOKLINE_DATA_DIR is
   * taken from the folder the user ran the command in), or `memory://` for a
   * throw-away in-memory database.
   */
  dataDir: string;
  dbPoolSize: number;
  role: "api" | "worker" | "both";
  /**
   * Role `both` on PostgreSQL: run the delivery worker on a thread of its own
   * (delivery/worker-thread.ts) instead of the API's event loop. PGlite always
   * shares one loop: it is one connection.
   */
  workerThread: boolean;
  /**
   * Event loops serving the API, one process each (api-loops.ts): the first
   * process and `apiProcesses - 1` more. PostgreSQL only; on PGlite, whose
   * database one process holds, always 1. Default: defaultApiProcesses (the
   * cores, less one for a worker thread, at most DEFAULT_MAX_API_PROCESSES).
   */
  apiProcesses: number;
  adminToken: string | undefined;
  allowPrivateTargets: boolean;
  bodyLimitBytes: number;
  /** Body limit of `POST /v1/events/batch` (up to 1,000 events). */
  batchBodyLimitBytes: number;
  secretRotationGraceSeconds: number;
  keyCacheSeconds: number;
  /** How long an `Idempotency-Key`'s first answer is kept and replayed (Stripe: 24 h). */
  idempotencyTtlSeconds: number;
  /** How long a listen session outlives its last open stream before it is deleted (`hookline listen`). */
  listenSessionTtlSeconds: number;
  publicUrl: string | undefined;
  /**
   * The main key signing secrets are sealed with (AES-256-GCM), and older
   * ones still accepted for reading while `hookline secrets reencrypt` moves
   * everything to the current one. Absent in embedded mode: the server makes
   * one in the data folder on first start.
   */
  mainSecret: Buffer | undefined;
  mainSecretPrevious: Buffer[];
  /** Refuse `http://` callback URLs everywhere (Svix's `endpoint_https_only`). */
  endpointHttpsOnly: boolean;
  rateLimit: RateLimitConfig;
  delivery: DeliveryConfig;
  /** The delivery queue (delivery/queue/): undefined is PostgreSQL's `deliveries` table; set, NATS JetStream. */
  queue: QueueConfig | undefined;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** `auto`: human-readable lines on a terminal, JSON lines otherwise. */
  logFormat: "auto" | "json" | "pretty";
  /** For CLI commands that go through a running server as an account (`hookline trigger`, `hookline keys`). */
  apiKey: string | undefined;
  /** OpenTelemetry tracing (OTEL_* variables); undefined: off, and no OpenTelemetry code is loaded. */
  tracing: TracingConfig | undefined;
};

/**
 * The NATS JetStream queue (`HOOKLINE_QUEUE_URL=nats://host:port[,host:port…]`,
 * user and password in the URL as the NATS client takes them). Needs
 * DATABASE_URL: the delivery records stay in PostgreSQL, shared by every
 * process.
 */
export interface QueueConfig {
  /** Seed servers; the client learns the rest of the cluster from them. */
  servers: string[];
  /** Names the stream (`<PREFIX>_deliveries`), its subjects (`<prefix>.deliveries.<hook id>`) and the consumer: two deployments (or test files) on one cluster stay apart. */
  prefix: string;
  /** The stream's replicas; undefined: min(3, cluster size), found by trying 3, 2, 1. */
  replicas: number | undefined;
  /** A NATS credentials file (JWT + NKey seed). */
  credsFile: string | undefined;
  /** TLS: CA to trust, and a client certificate and key for mutual TLS. */
  tls: { caFile: string | undefined; certFile: string | undefined; keyFile: string | undefined } | undefined;
}

/** API request limits, counted in fixed windows per process (see the README). 0 switches a limit off. */
export interface RateLimitConfig {
  /** Requests per window per API key, publishing aside. */
  requests: number;
  /**
   * Publish requests (`POST /v1/events`, `/v1/events/batch`, Kudu's publish
   * paths) per window per API key: a budget of their own, far above
   * `requests`, so a producer publishing one event per request is not held
   * to the API's general pace (issue 20), yet still bounded.
   */
  publishRequests: number;
  /** Requests with a missing or wrong credential per window per client address. */
  failedAuth: number;
  windowSeconds: number;
  /** Reverse proxies (addresses, CIDR ranges) whose `X-Forwarded-For` names the client (http/client-address.ts); empty: the socket's peer is the client. */
  trustedProxies: string[];
}

export interface DeliveryConfig {
  /** Per-phase attempt timeout: connecting, the response headers, each wait for body data. */
  timeoutMs: number;
  /** Delay before retry n (1-based) is retryScheduleMs[n-1], the last entry repeating; ±20 % jitter. */
  retryScheduleMs: number[];
  /** Upper bound on a receiver's `Retry-After`. */
  retryAfterMaxSeconds: number;
  /** HTTP attempts in flight per worker process. */
  concurrency: number;
  /** Most deliveries one claim takes. */
  batchSize: number;
  /** How long a claim holds a delivery; must outlast an attempt's deadline (with a margin to start it). */
  leaseMs: number;
  /** The whole attempt at most: connect, headers and the full body. Default 2 × timeoutMs. */
  attemptDeadlineMs: number;
  /** Rows held by workers (claimed, not yet recorded) per hook, for hooks without their own `max_in_flight`. */
  hookMaxInFlight: number;
  /** Consecutive failed attempts that open a hook's circuit breaker. */
  breakerThreshold: number;
  /** While a breaker is open, the least wait after a failed probe (the wait grows to a tenth of the time failing, at most 5 min). */
  breakerProbeIntervalMs: number;
  /** A hook whose every attempt failed for this long is disabled (Svix: 5 days). */
  autoDisableSeconds: number;
  /** Claim even without a NOTIFY this often (retries falling due, missed notifications). */
  pollIntervalMs: number;
  /** On shutdown, how long in-flight attempts may run before they are aborted and released. */
  shutdownGraceMs: number;
  /** Finished deliveries and their attempts older than this are pruned; 0 keeps them forever. */
  retentionSeconds: number;
  retentionIntervalMs: number;
  /** A worker-only process serves /metrics and /healthz on this port (on HOST) when set; API processes use the API's port. */
  metricsPort: number | undefined;
}

/**
 * The most API processes started by default: each costs ≈60–100 MB of
 * memory and a PostgreSQL pool, and past a few the database, not the API's
 * loops, is what bounds a server (bench/README.md).
 */
export const DEFAULT_MAX_API_PROCESSES = 4;

/**
 * How many API loops a PostgreSQL-backed server starts when
 * HOOKLINE_API_PROCESSES is not set: one per core, at most
 * DEFAULT_MAX_API_PROCESSES — less the core the delivery worker's own thread
 * keeps busy when the process also delivers (role `both`, worker thread on).
 * Measured on 2 cores, role `both` (bench/README.md, issue 20): one API loop
 * beside the worker thread delivered single publishes end to end 1.2× as fast
 * as two (two API loops and the thread fought over the cores: 0.84 against
 * 0.63 ms of Hookline CPU an event), batch publishes as fast, with 100 MB less
 * peak RSS; role `api` (no worker) answered GETs 1.15× as fast on two loops.
 */
export function defaultApiProcesses(role: "api" | "worker" | "both", workerThread: boolean, cores: number): number {
  const workerCores = role === "both" && workerThread ? 1 : 0;
  return Math.max(1, Math.min(cores - workerCores, DEFAULT_MAX_API_PROCESSES));
}

/**
 * Time kept between an attempt's deadline and the end of its claim: the
 * worker's clock reads the claim later than the database set it, and the
 * outcome must still be written by the holder.
 */
export const LEASE_MARGIN_MS = 1000;

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(issues.join("; "));
    this.name = "ConfigError";
  }
}

/**
 * Parses the environment into a `Config`, or throws a `ConfigError` that names
 * every bad variable.
 *
 * @example
 * const config = loadConfig({ ...process.env, PORT: "0" });
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`));
  }
  const e = parsed.data;
  const attemptDeadlineMs = e.HOOKLINE_ATTEMPT_DEADLINE_MS ?? 2 * e.HOOKLINE_DELIVERY_TIMEOUT_MS;
  if (attemptDeadlineMs < e.HOOKLINE_DELIVERY_TIMEOUT_MS) {
    throw new ConfigError(["HOOKLINE_ATTEMPT_DEADLINE_MS must be at least HOOKLINE_DELIVERY_TIMEOUT_MS"]);
  }
  // The worker starts an attempt only while deadline + LEASE_MARGIN_MS still
  // fit in its claim; a lease shorter than that could start none.
  if (e.HOOKLINE_LEASE_MS < attemptDeadlineMs + 2 * LEASE_MARGIN_MS) {
    throw new ConfigError([
      `HOOKLINE_LEASE_MS must be at least the attempt deadline (${attemptDeadlineMs} ms) + ${2 * LEASE_MARGIN_MS} ms, or an attempt could outlive its claim`,
    ]);
  }
  if (!e.DATABASE_URL && (e.HOOKLINE_API_PROCESSES ?? 1) > 1) {
    throw new ConfigError([
      "HOOKLINE_API_PROCESSES above 1 needs DATABASE_URL: the embedded database (PGlite) is one process's, so the API runs on one event loop there",
    ]);
  }
  if (e.HOOKLINE_QUEUE_URL && !e.DATABASE_URL) {
    throw new ConfigError(["HOOKLINE_QUEUE_URL needs DATABASE_URL: delivery records stay in PostgreSQL, shared by every API and worker process"]);
  }
  if (e.DATABASE_URL && !e.HOOKLINE_MAIN_SECRET) {
    throw new ConfigError([
      "HOOKLINE_MAIN_SECRET is required with DATABASE_URL (signing secrets are stored encrypted under it): " +
        "set it to the key this database's server runs with (a new key would not open the secrets already stored); " +
        `only for a new database, make one with: openssl rand -base64 ${MAIN_KEY_BYTES}`,
    ]);
  }
  return {
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    dataDir: resolveDataDir(e.HOOKLINE_DATA_DIR, e.INIT_CWD),
    dbPoolSize: e.HOOKLINE_DB_POOL_SIZE,
    role: e.HOOKLINE_ROLE,
    workerThread: e.HOOKLINE_WORKER_THREAD,
    apiProcesses: e.DATABASE_URL && e.HOOKLINE_ROLE !== "worker" ? (e.HOOKLINE_API_PROCESSES ?? defaultApiProcesses(e.HOOKLINE_ROLE, e.HOOKLINE_WORKER_THREAD, availableParallelism())) : 1,
    adminToken: e.HOOKLINE_ADMIN_TOKEN,
    allowPrivateTargets: e.HOOKLINE_ALLOW_PRIVATE_TARGETS,
    bodyLimitBytes: e.HOOKLINE_BODY_LIMIT_BYTES,
    batchBodyLimitBytes: e.HOOKLINE_BATCH_BODY_LIMIT_BYTES,
    secretRotationGraceSeconds: e.HOOKLINE_SECRET_ROTATION_GRACE_SECONDS,
    keyCacheSeconds: e.HOOKLINE_KEY_CACHE_SECONDS,
    idempotencyTtlSeconds: e.HOOKLINE_IDEMPOTENCY_TTL_SECONDS,
    listenSessionTtlSeconds: e.HOOKLINE_LISTEN_SESSION_TTL_SECONDS,
    publicUrl: e.HOOKLINE_PUBLIC_URL,
    mainSecret: e.HOOKLINE_MAIN_SECRET,
    mainSecretPrevious: e.HOOKLINE_MAIN_SECRET_PREVIOUS ?? [],
    endpointHttpsOnly: e.HOOKLINE_ENDPOINT_HTTPS_ONLY,
    rateLimit: {
      requests: e.HOOKLINE_RATE_LIMIT_REQUESTS,
      publishRequests: e.HOOKLINE_RATE_LIMIT_PUBLISH_REQUESTS,
      failedAuth: e.HOOKLINE_RATE_LIMIT_FAILED_AUTH,
      windowSeconds: e.HOOKLINE_RATE_LIMIT_WINDOW_SECONDS,
      trustedProxies: e.HOOKLINE_TRUSTED_PROXIES ?? [],
    },
    delivery: {
      timeoutMs: e.HOOKLINE_DELIVERY_TIMEOUT_MS,
      retryScheduleMs: e.HOOKLINE_RETRY_SCHEDULE_MS.split(",").map(Number),
      retryAfterMaxSeconds: e.HOOKLINE_RETRY_AFTER_MAX_SECONDS,
      concurrency: e.HOOKLINE_WORKER_CONCURRENCY,
      batchSize: e.HOOKLINE_WORKER_BATCH_SIZE,
      leaseMs: e.HOOKLINE_LEASE_MS,
      attemptDeadlineMs,
      hookMaxInFlight: e.HOOKLINE_HOOK_MAX_IN_FLIGHT,
      breakerThreshold: e.HOOKLINE_BREAKER_THRESHOLD,
      breakerProbeIntervalMs: e.HOOKLINE_BREAKER_PROBE_INTERVAL_MS,
      autoDisableSeconds: e.HOOKLINE_AUTO_DISABLE_SECONDS,
      pollIntervalMs: e.HOOKLINE_POLL_INTERVAL_MS,
      shutdownGraceMs: e.HOOKLINE_SHUTDOWN_GRACE_MS,
      retentionSeconds: e.HOOKLINE_RETENTION_SECONDS,
      retentionIntervalMs: e.HOOKLINE_RETENTION_INTERVAL_MS,
      metricsPort: e.HOOKLINE_METRICS_PORT,
    },
    queue: e.HOOKLINE_QUEUE_URL
      ? {
          servers: e.HOOKLINE_QUEUE_URL.split(","),
          prefix: e.HOOKLINE_QUEUE_PREFIX,
          replicas: e.HOOKLINE_QUEUE_REPLICAS,
          credsFile: e.HOOKLINE_QUEUE_CREDS_FILE,
          tls:
            e.HOOKLINE_QUEUE_TLS_CA_FILE || e.HOOKLINE_QUEUE_TLS_CERT_FILE
              ? { caFile: e.HOOKLINE_QUEUE_TLS_CA_FILE, certFile: e.HOOKLINE_QUEUE_TLS_CERT_FILE, keyFile: e.HOOKLINE_QUEUE_TLS_KEY_FILE }
              : undefined,
        }
      : undefined,
    logLevel: e.LOG_LEVEL,
    logFormat: e.HOOKLINE_LOG_FORMAT,
    apiKey: e.HOOKLINE_API_KEY,
    tracing: tracingConfig(e),
  };
}

/** What tracing needs, from the OTEL_* variables; undefined when tracing is off. */
export interface TracingConfig {
  protocol: "http/protobuf" | "http/json";
  /** The OTLP traces URL: the traces endpoint as given, or the general endpoint + `/v1/traces` (default http://localhost:4318). */
  url: string;
  headers: Record<string, string>;
  serviceName: string;
  resourceAttributes: Record<string, string>;
  /** How long finished spans wait before they are exported in a batch (ms). */
  scheduleDelayMs: number;
}

function tracingConfig(e: z.infer<typeof configSchema>): TracingConfig | undefined {
  const endpoint = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (e.OTEL_SDK_DISABLED || e.OTEL_TRACES_EXPORTER === "none" || (e.OTEL_TRACES_EXPORTER === undefined && endpoint === undefined)) return undefined;
  const url = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${(e.OTEL_EXPORTER_OTLP_ENDPOINT ?? "http://localhost:4318").replace(/\/+$/, "")}/v1/traces`;
  return {
    protocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf",
    url,
    headers: { ...keyValues(e.OTEL_EXPORTER_OTLP_HEADERS), ...keyValues(e.OTEL_EXPORTER_OTLP_TRACES_HEADERS) },
    serviceName: e.OTEL_SERVICE_NAME ?? keyValues(e.OTEL_RESOURCE_ATTRIBUTES)["service.name"] ?? "hookline",
    resourceAttributes: keyValues(e.OTEL_RESOURCE_ATTRIBUTES),
    scheduleDelayMs: e.OTEL_BSP_SCHEDULE_DELAY ?? 5000,
  };
}

/** `k1=v1,k2=v2` with percent-encoded values (the W3C Baggage form the OTEL_* lists use). */
function keyValues(text: string | undefined): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const part of (text ?? "").split(",")) {
    const at = part.indexOf("=");
    if (at <= 0) continue;
    try {
      pairs[part.slice(0, at).trim()] = decodeURIComponent(part.slice(at + 1).trim());
    } catch {
      pairs[part.slice(0, at).trim()] = part.slice(at + 1).trim();
    }
  }
  return pairs;
}

/**
 * A relative data folder is relative to where the user ran the command:
 * `INIT_CWD` under npm/pnpm scripts (which run in the package's own folder),
 * the working directory otherwise.
 */
function resolveDataDir(dataDir: string, initCwd: string | undefined): string {
  if (dataDir === "memory://" || isAbsolute(dataDir)) return dataDir;
  return resolve(initCwd && isAbsolute(initCwd) ? initCwd : process.cwd(), dataDir);
}
