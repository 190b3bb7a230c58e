import pino, { type Logger } from "pino";

/**
 * Structured JSON logs. Anything that could carry a credential is redacted by
 * path, so a careless `logger.info({ hook })` cannot leak a signing secret.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "hookline" },
      redact: {
        paths: [
          "secret", "*.secret", "*.*.secret", "previous_secret", "*.previous_secret",
          "key", "*.key", "adminToken", "*.adminToken",
          "headers.authorization", "*.headers.authorization", 'headers["x-auth-token"]', '*.headers["x-auth-token"]',
        ],
        censor: "[redacted]",
      },
    },
    destination,
  );
}
