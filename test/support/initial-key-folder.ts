import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname } from "node:path";

/**
 * Removes the private folder a server made under the temporary folder for
 * its first API key (services/hookline/src/initial-key.ts: PostgreSQL, or
 * PGlite in memory, with stdout not a terminal), named in its `output`.
 * Tests call it when the server has exited, so their runs leave no key
 * files behind. A key kept in a data folder is the data folder's owner's.
 */
export function removeInitialKeyFolder(output: string): void {
  const file = output.match(/API key is in (\S+) \(readable only by this user\)/)?.[1];
  if (!file) return;
  const folder = dirname(file);
  if (dirname(folder) === tmpdir() && basename(folder).startsWith("hookline-key-")) rmSync(folder, { recursive: true, force: true });
}
