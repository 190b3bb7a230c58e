import type { Config } from "./config.js";
import { DataDirBusyError, DataDirNotWritableError, LOCK_STALE_MS, type DataDirOwner } from "./store/data-dir-lock.js";

/**
 * A failure to start that the operator can fix: `message` is one line naming
 * the setting and what to do; `cause` keeps the original error for
 * LOG_LEVEL=debug. Every start-up failure Hookline recognises is worded here,
 * so the wording stays in one place and one voice.
 */
export class StartupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StartupError";
  }
}

/** The one-line message for a data folder that is held by another process. */
export function dataDirBusyMessage(error: DataDirBusyError): string {
  const owner = error.owner;
  const who = owner ? `process ${owner.pid}${owner.hostname ? ` on ${owner.hostname}` : ""} (hookline ${owner.command}${owner.url ? ` at ${owner.url}` : ""})` : "another process";
  return `HOOKLINE_DATA_DIR ${error.dataDir} is in use by ${who}: only one process may open an embedded database. Stop that process, or set HOOKLINE_DATA_DIR to another folder (a crashed holder's lock expires within ${LOCK_STALE_MS / 1000} s).`;
}

/** The one-line notice of a start or CLI command waiting out a crashed holder's lock (the server logs it, the CLI prints it). */
export function crashedHolderWaitMessage(holder: DataDirOwner): string {
  return `the data folder's last holder (pid ${holder.pid}) no longer runs: waiting up to ${LOCK_STALE_MS / 1000} s for its lock to go stale`;
}

/** The one-line message for a listening port that cannot be bound. */
export function portMessage(setting: "PORT" | "HOOKLINE_METRICS_PORT", host: string, port: number, code: string | undefined): string {
  if (code === "EADDRINUSE") return `${setting} ${port} is already in use on ${host}: stop the process using it, or set ${setting} to a free port (0 picks one).`;
  if (code === "EACCES") return `${setting} ${port} needs privileges on ${host}: set ${setting} to a port above 1023.`;
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") return `HOST ${host} is not an address of this machine: set HOST to one (127.0.0.1, or 0.0.0.0 for every interface).`;
  return `${setting} ${port} on ${host} cannot be listened on (${code ?? "unknown error"}): set ${setting} or HOST differently.`;
}

/**
 * The one-line message for an error met while starting, or undefined for an
 * error Hookline does not recognise (a bug: the caller shows it in full).
 */
export function describeStartupFailure(error: unknown, config: Config): string | undefined {
  if (error instanceof StartupError) return error.message;
  if (error instanceof DataDirBusyError) return dataDirBusyMessage(error);
  if (error instanceof DataDirNotWritableError) {
    return `HOOKLINE_DATA_DIR ${error.dataDir} must be a writable folder${error.code ? ` (${error.code})` : ""}: fix its permissions, or set HOOKLINE_DATA_DIR to another folder.`;
  }
  if (config.databaseUrl) return describeDatabaseFailure(error, config.databaseUrl);
  return undefined;
}

function describeDatabaseFailure(error: unknown, databaseUrl: string): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  const url = safeUrl(databaseUrl);
  const where = `${url.hostname || "localhost"}:${url.port || "5432"}`;
  const database = decodeURIComponent(url.pathname.slice(1)) || url.username || "postgres";
  const user = decodeURIComponent(url.username) || "the default user";
  switch (code) {
    case "3D000":
      return `DATABASE_URL names database "${database}", which does not exist on ${where}: create it (createdb ${database}) or fix the database name in DATABASE_URL.`;
    case "28P01":
    case "28000":
      return `DATABASE_URL: PostgreSQL on ${where} refused the credentials of ${user}: fix the user name or password in DATABASE_URL.`;
    case "ECONNREFUSED":
      return `DATABASE_URL: nothing accepts connections at ${where}: start PostgreSQL, or fix the host and port in DATABASE_URL.`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `DATABASE_URL: the host ${url.hostname} cannot be resolved: fix the host in DATABASE_URL.`;
    case "ETIMEDOUT":
    case "CONNECT_TIMEOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `DATABASE_URL: PostgreSQL at ${where} does not answer (${code}): check that it runs and is reachable, or fix the host and port in DATABASE_URL.`;
    case "57P03":
      return `DATABASE_URL: PostgreSQL at ${where} is starting up or shutting down: try again when it is ready.`;
    case "42501":
      return `DATABASE_URL: ${user} may not create tables in "${database}" (Hookline migrates its schema at start): grant it, or use another user in DATABASE_URL.`;
    default:
      return undefined;
  }
}

function safeUrl(value: string): URL {
  try {
    return new URL(value);
  } catch {
    return new URL("postgres://localhost");
  }
}
