import { ConfigError, loadConfig } from "./config.js";
import { startHookline } from "./hookline.js";
import { createLogger } from "./logger.js";
import { ensureDefaultAccount } from "./quickstart.js";
import { isConnectionLost } from "./store/connection-lost.js";

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

// A lost database connection (store/connection-lost.ts) is logged, not fatal.
// Anything else is a bug: log it and exit, and let the supervisor restart us
// (claims come back when their lease runs out).
process.on("unhandledRejection", (reason) => {
  if (isConnectionLost(reason)) {
    logger.warn({ err: reason }, "database connection lost; postgres.js reconnects");
    return;
  }
  logger.fatal({ err: reason }, "unhandled rejection");
  process.exit(1);
});
const hookline = await startHookline(config, logger);
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

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    // A second signal means "now": skip the graceful path.
    if (stopping) process.exit(1);
    stopping = true;
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
