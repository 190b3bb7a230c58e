import type { Config } from "../config.js";
import { isDataDirLocked, readDataDirOwner, type DataDirOwner } from "../store/data-dir-lock.js";

/** Whether the configured database is an embedded one on disk (one process at a time). */
export function isEmbeddedOnDisk(config: Config): boolean {
  return !config.databaseUrl && config.dataDir !== "memory://";
}

/**
 * The running embedded server holding the data folder, as its lock records it;
 * undefined when no live process holds the folder (`isDataDirLocked`). A
 * crashed server's owner file outlives it, and its URL may by now be another
 * program's port: the CLI must not send it a key.
 */
export function embeddedServer(config: Config): DataDirOwner | undefined {
  return isEmbeddedOnDisk(config) && isDataDirLocked(config.dataDir) ? readDataDirOwner(config.dataDir) : undefined;
}

/**
 * Where the CLI finds the server's API: `--url`, else HOOKLINE_PUBLIC_URL,
 * else the URL the embedded server holding the data folder recorded, else
 * HOST and PORT (a wildcard HOST reached through loopback).
 */
export function serverUrl(config: Config, flag: string | undefined): string {
  const url = flag ?? config.publicUrl ?? embeddedServer(config)?.url;
  if (url) return url.replace(/\/+$/, "");
  const host = config.host === "0.0.0.0" ? "127.0.0.1" : config.host === "::" ? "[::1]" : config.host.includes(":") ? `[${config.host}]` : config.host;
  return `http://${host}:${config.port}`;
}

/**
 * The admin credentials the running embedded server holding the data folder
 * recorded for the CLI on this machine (its owner file, mode 0600): its
 * admin token and default account, when `target` (the URL the command will
 * call) is that server's own. Never for another URL: the token must not
 * reach a server given with --url that is not the one that made it. How
 * `keys`, `portal` and any CLI command needing admin rights on the embedded
 * database authenticate without HOOKLINE_ADMIN_TOKEN.
 */
export function embeddedAdmin(config: Config, target: string): { token: string; defaultAccount: string | undefined } | undefined {
  if (!isEmbeddedOnDisk(config) || !isDataDirLocked(config.dataDir)) return undefined;
  const owner = readDataDirOwner(config.dataDir);
  if (!owner?.admin_token || !owner.url || !sameServer(owner.url, target)) return undefined;
  return { token: owner.admin_token, defaultAccount: owner.default_account };
}

function sameServer(a: string, b: string): boolean {
  return URL.canParse(a) && URL.canParse(b) && new URL(a).origin === new URL(b).origin;
}
