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
          "key", "*.key", "adminToken", "*.adminToken",
          "headers.authorization", "*.headers.authorization", 'headers["x-auth-token"]', '*.headers["x-auth-token"]',
        ],
        censor: "[redacted]",
      },
    },
    stream,
  );
}
