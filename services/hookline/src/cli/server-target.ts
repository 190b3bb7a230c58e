import type { Config } from "../config.js";
import { readDataDirOwner, type DataDirOwner } from "../store/data-dir-lock.js";

/** Whether the configured database is an embedded one on disk (one process at a time). */
export function isEmbeddedOnDisk(config: Config): boolean {
  return !config.databaseUrl && config.dataDir !== "memory://";
}

/** The running embedded server holding the data folder, as its lock records it. */
export function embeddedServer(config: Config): DataDirOwner | undefined {
  return isEmbeddedOnDisk(config) ? readDataDirOwner(config.dataDir) : undefined;
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
