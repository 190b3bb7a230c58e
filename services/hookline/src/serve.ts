import type { Logger } from "pino";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { startHookline, type RunningHookline } from "./hookline.js";
import { createLogger } from "./logger.js";
import { keepInitialKey } from "./initial-key.js";
import { ensureDefaultAccount } from "./quickstart.js";
import { describeStartupFailure } from "./startup-errors.js";
import { isConnectionLost } from "./store/connection-lost.js";
import { onStopSignal } from "./stop-signals.js";

/** Exit codes: 2 for a bad setting, 1 for any other failure to start. */
export const EXIT_BAD_CONFIG = 2;
export const EXIT_START_FAILED = 1;

/**
 * Loads the configuration or exits with one line naming the bad settings.
 * Used by every entry point (server and CLI).
 */
export function loadConfigOrExit(env: Record<string, string | undefined>): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`hookline: ${error.message}\n`);
      process.exit(EXIT_BAD_CONFIG);
    }
    throw error;
  }
}

/**
 * Prints a failure to start as one line (the setting and what to do); the
 * stack only at LOG_LEVEL=debug or trace, where it helps more than it scares.
 */
export function reportFailure(error: unknown, config: Pick<Config, "logLevel"> & Partial<Config>, what = "could not start"): void {
  const line = describeStartupFailure(error, config as Config);
  const verbose = config.logLevel === "debug" || config.logLevel === "trace";
  const message =
    line ??
    `${what}: ${error instanceof Error ? error.message : String(error)}${verbose ? "" : " (LOG_LEVEL=debug shows the stack trace)"}`;
  process.stderr.write(`hookline: ${message}\n`);
  if (verbose) process.stderr.write(`${stackOf(error)}\n`);
}

function stackOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause ? `${error.stack}\nCaused by: ${stackOf(error.cause)}` : String(error.stack);
}

/**
 * The server process: env → config → lock, port, database → API and worker
 * → banner → signals. Exits non-zero, with one line, when it cannot start.
 */
export async function runServer(env: Record<string, string | undefined>, isTerminal: boolean): Promise<void> {
  const config = loadConfigOrExit(env);
  const logger = createLogger(config.logLevel, undefined, {
    pretty: config.logFormat === "pretty" || (config.logFormat === "auto" && isTerminal),
  });
  handleUnhandledRejections(logger);

  let hookline: RunningHookline;
  try {
    hookline = await startHookline(config, logger);
  } catch (error) {
    reportFailure(error, config);
    process.exit(EXIT_START_FAILED);
  }
  // Signals are handled before the banner announces the server, so a signal
  // sent as soon as it is up is a graceful stop, never a default kill.
  let stoppingSince: number | undefined;
  onStopSignal((signal) => {
    // A second signal means "now": skip the graceful path. One Ctrl-C arrives
    // twice within milliseconds under `pnpm start` (the terminal signals the
    // process group, and pnpm forwards it), so only a signal more than a
    // second after the first counts as a second one.
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince > 1000) exitAfterLogs(logger, 1);
      return;
    }
    stoppingSince = Date.now();
    // After SIGHUP the terminal is gone and a write to it can fail (EIO):
    // the log line is best effort, the stop is not.
    logSafely(() => logger.info({ signal }, "shutting down"));
    hookline.stop().then(
      () => exitAfterLogs(logger, 0),
      (error) => {
        logSafely(() => logger.error({ err: error }, "shutdown failed"));
        exitAfterLogs(logger, 1);
      },
    );
  });

  // Only a process serving the API makes the default account: it alone hands the key over (printed, or in
  // a file it names). A worker-only process starting first on an empty database would make one nobody sees.
  if (hookline.url) {
    const url = hookline.url;
    const quickstart = await ensureDefaultAccount(hookline.store);
    hookline.advertiseDefaultAccount(quickstart.accountId);
    const lines = [`Hookline is running at ${url}`, `  API reference: ${url}/docs`];
    if (quickstart.key && isTerminal) {
      lines.push(`  A default account was created. Its API key (shown once, keep it):`, `    ${quickstart.key}`);
      lines.push(`  Try: curl -H "Authorization: Bearer ${quickstart.key}" ${url}/v1/hooks`);
    } else if (quickstart.key) {
      // Not a terminal: these lines join the log stream, which must never carry a live key.
      const kept = await keepInitialKey(quickstart.key, config);
      if ("file" in kept) {
        lines.push(`  A default account was created. Its API key is in ${kept.file} (readable only by this user): keep it, then delete the file.`);
        lines.push(`  Try: curl -H "Authorization: Bearer $(cat ${kept.file})" ${url}/v1/hooks`);
      } else {
        lines.push(`  A default account was created. Its API key could not be written to a file (${kept.error}) and is not shown here, where logs keep it: make one with \`hookline keys create\` (\`pnpm hookline …\` in a clone of the repository).`);
      }
    } else {
      lines.push(
        `  API keys: \`hookline keys list\`, \`hookline keys create\` (\`pnpm hookline …\` in a clone of the repository; the key printed at the first start still works unless revoked)`,
      );
    }
    lines.push(
      `  Database: ${config.databaseUrl ? "PostgreSQL" : config.dataDir === "memory://" ? "PGlite in memory (gone at exit)" : `PGlite in ${config.dataDir}`}; role: ${config.role}; queue: ${config.queue ? `NATS JetStream (${config.queue.servers.map((server) => server.replace(/\/\/[^@/]*@/, "//")).join(", ")})` : "PostgreSQL"}`,
    );
    process.stdout.write(`${lines.join("\n")}\n`);
  }
}

// A lost database connection (store/connection-lost.ts) is logged, not fatal:
// the pool recovers by itself. Anything else is a bug: log it and exit, and
// let the supervisor restart us (claims come back when their lease runs out).
function handleUnhandledRejections(logger: Logger) {
  process.on("unhandledRejection", (reason) => {
    if (isConnectionLost(reason)) {
      logger.warn({ err: reason }, "database connection lost; postgres.js reconnects");
      return;
    }
    logger.fatal({ err: reason }, "unhandled rejection");
    exitAfterLogs(logger, 1);
  });
}

/** Runs a log call whose failure (a closed terminal's EIO) must not stop what follows. */
function logSafely(write: () => void): void {
  try {
    write();
  } catch {
    // Nowhere left to report it.
  }
}

/** How long an exit waits for the log's last writes to finish (or fail). */
const LOG_SETTLE_MS = 100;

/**
 * Exits after the log's last writes have finished or failed. At exit pino
 * writes what is still pending synchronously, and sonic-boom (its
 * destination) retries a failed synchronous write for ever unless the error
 * is EAGAIN: with stdout a pipe whose reader is gone (`hookline start |
 * head`, a dead log shipper) the process hung there, deaf to signals. Given
 * a moment, the pending asynchronous write fails with EPIPE instead, pino
 * stops writing to the broken pipe, and the exit has nothing left to flush.
 */
function exitAfterLogs(logger: Logger, code: number): void {
  logger.flush();
  setTimeout(() => process.exit(code), LOG_SETTLE_MS);
}
