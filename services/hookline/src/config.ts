import { z } from "zod";

/**
 * Hookline's configuration: environment variables, validated once at start.
 * Nothing else in the code base reads `process.env`; everything takes a
 * `Config` (or the part of it it needs) as an argument.
 */
const booleanFromEnv = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((value) => value === "true" || value === "1" || value === "yes");

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
  HOOKLINE_ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  HOOKLINE_ALLOW_PRIVATE_TARGETS: booleanFromEnv.default(false),
  HOOKLINE_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(256 * 1024),
  HOOKLINE_SECRET_ROTATION_GRACE_SECONDS: z.coerce.number().int().min(0).max(30 * 24 * 3600).default(24 * 3600),
  HOOKLINE_KEY_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  HOOKLINE_PUBLIC_URL: z.url().optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Config = {
  host: string;
  port: number;
  /** PostgreSQL connection string; absent means embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  /** PGlite data folder, or `memory://` for a throw-away in-memory database. */
  dataDir: string;
  dbPoolSize: number;
  role: "api" | "worker" | "both";
  adminToken: string | undefined;
  allowPrivateTargets: boolean;
  bodyLimitBytes: number;
  secretRotationGraceSeconds: number;
  keyCacheSeconds: number;
  publicUrl: string | undefined;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
};

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((issue) => `  - ${issue}`).join("\n")}`);
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
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`));
  }
  const e = parsed.data;
  return {
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.HOOKLINE_DATA_DIR,
    dbPoolSize: e.HOOKLINE_DB_POOL_SIZE,
    role: e.HOOKLINE_ROLE,
    adminToken: e.HOOKLINE_ADMIN_TOKEN,
    allowPrivateTargets: e.HOOKLINE_ALLOW_PRIVATE_TARGETS,
    bodyLimitBytes: e.HOOKLINE_BODY_LIMIT_BYTES,
    secretRotationGraceSeconds: e.HOOKLINE_SECRET_ROTATION_GRACE_SECONDS,
    keyCacheSeconds: e.HOOKLINE_KEY_CACHE_SECONDS,
    publicUrl: e.HOOKLINE_PUBLIC_URL,
    logLevel: e.LOG_LEVEL,
  };
}
