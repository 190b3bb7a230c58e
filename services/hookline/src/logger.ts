import pino, { type Logger } from "pino";
import pretty from "pino-pretty";
import { tracing } from "./tracing/tracing.js";

/**
 * Structured JSON logs (one JSON object a line), or, with `pretty`, the same
 * records as human-readable lines for a terminal (pino-pretty, in this
 * thread: a terminal is slow anyway, and no worker thread to wait for at exit). Anything that could carry a credential is redacted by
 * path, so a careless `logger.info({ hook })` cannot leak a signing secret.
 */
export function createLogger(level: string, destination?: pino.DestinationStream, options: { pretty?: boolean } = {}): Logger {
  const stream = destination ?? (options.pretty ? pretty({ sync: true, colorize: true, ignore: "pid,hostname,service", translateTime: "SYS:HH:MM:ss.l" }) : undefined);
  return pino(
    {
      level,
      base: { service: "hookline" },
      // With tracing on, a line logged inside a span names it (trace_id, span_id), as OpenTelemetry's log correlation does.
      mixin: () => tracing()?.logIds() ?? {},
      redact: {
        paths: [
          "secret", "*.secret", "*.*.secret", "previous_secret", "*.previous_secret",
          "key", "*.key", "adminToken", "*.adminToken", "admin_token", "*.admin_token", "token", "*.token",
          "api_key", "*.api_key", "password", "*.password", "csrf_token", "*.csrf_token",
          "headers.authorization", "*.headers.authorization", 'headers["x-auth-token"]', '*.headers["x-auth-token"]',
          'headers["x-api-key"]', '*.headers["x-api-key"]', "headers.cookie", "*.headers.cookie", 'headers["set-cookie"]', '*.headers["set-cookie"]',
        ],
        censor: "[redacted]",
      },
      serializers: { err: errorWithoutValues },
    },
    stream,
  );
}

/**
 * pino's error serializer, without the statement's values a database error
 * carries: PGlite sets `query`, `params` and `queryOptions` on its errors
 * (postgres.js `parameters`, enumerable in debug mode), and the
 * values of a failed write can be a new API key or signing secret on its way
 * into the idempotency store, or a receiver's reply. The message and stack
 * say what failed; the values stay out of the log.
 */
function errorWithoutValues(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown> | undefined;
  if (!serialized || typeof serialized !== "object") return serialized;
  for (const field of ["params", "parameters", "queryOptions"]) delete serialized[field];
  return serialized;
}
