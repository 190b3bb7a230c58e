import { ConfigError, loadConfig } from "./config.js";
import { startHookline } from "./hookline.js";
import { createLogger } from "./logger.js";
import { ensureDefaultAccount } from "./quickstart.js";

// The process entry point: env → config → store → API and worker → signals.
let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}

const logger = createLogger(config.logLevel);

// postgres.js can reject a promise nobody holds when the server ends a
// connection (admin shutdown 57P01/57P02/57P03, a reset socket) — seen once
// under load while its LISTEN connection reconnected. The pool recovers by
// itself, so such a rejection is logged, not fatal. Anything else is a bug:
// log it and exit, and let the supervisor restart us (claims come back when
// their lease runs out).
const CONNECTION_LOST = new Set(["57P01", "57P02", "57P03", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "ECONNRESET", "EPIPE"]);
process.on("unhandledRejection", (reason) => {
  const code = (reason as { code?: unknown } | null)?.code;
  if (typeof code === "string" && CONNECTION_LOST.has(code)) {
    logger.warn({ err: reason }, "database connection lost; postgres.js reconnects");
    return;
  }
  logger.fatal({ err: reason }, "unhandled rejection");
  process.exit(1);
});
const hookline = await startHookline(config, logger);

// Signals are handled before the start-up lines announce the server, so a
// signal sent as soon as it is up is a graceful stop, never a default kill.
let stoppingSince: number | undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    // A second signal means "now": skip the graceful path. One Ctrl-C arrives
    // twice within milliseconds under `pnpm start` (the terminal signals the
    // process group, and pnpm forwards it), so only a signal more than a
    // second after the first counts as a second one.
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince > 1000) process.exit(1);
      return;
    }
    stoppingSince = Date.now();
    logger.info({ signal }, "shutting down");
    hookline.stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}

const quickstart = await ensureDefaultAccount(hookline.store);

if (hookline.url) {
  const lines = [`Hookline is running at ${hookline.url}`, `  API reference: ${hookline.url}/docs`];
  if (quickstart) {
    lines.push(`  A default account was created. Its API key (shown once, keep it):`, `    ${quickstart.key}`);
    lines.push(`  Try: curl -H "Authorization: Bearer ${quickstart.key}" ${hookline.url}/v1/hooks`);
  }
  lines.push(`  Database: ${config.databaseUrl ? "PostgreSQL" : `PGlite in ${config.dataDir}`}; role: ${config.role}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}
