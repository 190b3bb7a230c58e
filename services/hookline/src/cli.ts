import { stripVTControlCharacters } from "node:util";
import { defineCommand, renderUsage, runCommand, type CommandDef } from "citty";
import type { Config } from "./config.js";
import { CliError } from "./cli/cli-error.js";
import { keysCommand } from "./cli/keys-command.js";
import { listenCommand } from "./cli/listen-command.js";
import { publishCommand } from "./cli/publish-command.js";
import { secretsCommand } from "./cli/secrets-command.js";
import { embeddedServer, isEmbeddedOnDisk } from "./cli/server-target.js";
import { portalCommand } from "./cli/portal-command.js";
import { triggerCommand } from "./cli/trigger-command.js";
import { DataDirBusyError, isDataDirLocked } from "./store/data-dir-lock.js";
import { holdStore } from "./cli/held-store.js";
import { watchLauncher } from "./launcher-watch.js";
import { PACKAGE_VERSION } from "./package-version.js";
import { migrateToLatest } from "./store/database.js";
import { loadConfigOrExit, reportFailure, runServer } from "./serve.js";
import { dataDirBusyMessage } from "./startup-errors.js";

// `hookline <command>`: the server and operator commands, configured by the
// same environment as the server (see config.ts). Settings are read when a
// command needs them, so `--help` works with any environment.
let loaded: Config | undefined;
const config = () => (loaded ??= loadConfigOrExit(process.env));

const start = defineCommand({
  meta: { name: "start", description: "Run the server (API and delivery worker, per HOOKLINE_ROLE) until SIGINT, SIGTERM, SIGHUP or SIGQUIT (each a graceful stop)" },
  run: () => {
    // Under `npx --yes pnpm start`, a SIGTERM to the outermost process would not reach us (see launcher-watch.ts).
    watchLauncher({ env: process.env, onLost: () => process.kill(process.pid, "SIGTERM") });
    return runServer(process.env, process.stdout.isTTY === true);
  },
});

const migrate = defineCommand({
  meta: { name: "migrate", description: "Apply pending database migrations (the server also does at start)" },
  async run() {
    const settings = config();
    if (isEmbeddedOnDisk(settings) && isDataDirLocked(settings.dataDir)) {
      throw new CliError(`${dataDirBusyMessage(new DataDirBusyError(settings.dataDir, embeddedServer(settings)))} The running server has already migrated it.`);
    }
    const held = await holdStore(settings, "migrate");
    try {
      const applied = await migrateToLatest(held.store);
      console.log(applied.length ? `Applied ${applied.join(", ")}.` : "The database is at the latest migration.");
    } finally {
      await held.release();
    }
  },
});

const main = defineCommand({
  meta: { name: "hookline", version: PACKAGE_VERSION, description: "Hookline: an open webhook platform. Settings come from the environment (PORT, DATABASE_URL, HOOKLINE_DATA_DIR, …)." },
  subCommands: { start, migrate, keys: keysCommand(config), trigger: triggerCommand(config), secrets: secretsCommand(config), publish: publishCommand(config), listen: listenCommand(config), portal: portalCommand(config) },
  // Answered before citty runs (below); declared so the help lists it.
  args: { version: { type: "boolean", alias: "v", description: "Print Hookline's version and exit" } },
});

/** The command the arguments name, its full name, and whether they stop at a command group. */
function resolve(rawArgs: string[]): { command: CommandDef; path: string[]; group: boolean } {
  let command = main as CommandDef;
  const path = ["hookline"];
  for (const arg of rawArgs) {
    const subCommands = (command.subCommands ?? {}) as Record<string, CommandDef>;
    if (arg.startsWith("-") || !subCommands[arg]) break;
    command = subCommands[arg]!;
    path.push(arg);
  }
  return { command, path, group: command.subCommands !== undefined };
}

/** Help for the command the arguments name; plain text unless stdout is a terminal. */
async function usage(rawArgs: string[]): Promise<string> {
  const { command, path } = resolve(rawArgs);
  const text = await renderUsage(command, path.length > 1 ? defineCommand({ meta: { name: path.slice(0, -1).join(" ") } }) : undefined);
  // citty pads every column to the widest entry, the last one too: hundreds
  // of trailing spaces on a line once one description is long.
  const trimmed = text.replace(/[ \t]+$/gm, "");
  return process.stdout.isTTY ? trimmed : stripVTControlCharacters(trimmed);
}

const rawArgs = process.argv.slice(2);
const target = resolve(rawArgs);
if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
  // `hookline --version`, as most commands answer it: the version alone on stdout.
  console.log(PACKAGE_VERSION);
} else if (rawArgs.includes("--help") || rawArgs.includes("-h") || (target.group && rawArgs.length === target.path.length - 1)) {
  // `hookline`, `hookline keys`: a group without a command prints its help.
  console.log(await usage(rawArgs));
} else if (target.group) {
  const unknown = rawArgs[target.path.length - 1];
  process.stderr.write(`${await usage(rawArgs)}\n\nhookline: unknown command "${unknown}".\n`);
  process.exitCode = 1;
} else {
  try {
    await runCommand(main, { rawArgs });
  } catch (error) {
    if (error instanceof CliError) process.stderr.write(`hookline: ${error.message}\n`);
    else if ((error as { name?: string }).name === "CLIError") process.stderr.write(`${await usage(rawArgs)}\n\nhookline: ${(error as Error).message}\n`);
    else reportFailure(error, loaded ?? { logLevel: "info" }, `${target.path.slice(1).join(" ")} failed`);
    process.exitCode = 1;
  }
}
