import { readFileSync } from "node:fs";

/**
 * The server package's version (services/hookline/package.json), read once:
 * `hookline --version` prints it and every delivery's user-agent carries it.
 * Read from the file rather than imported so the same path works from src/
 * (tsx) and from dist/ (the build keeps the folder layout).
 */
export const PACKAGE_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
